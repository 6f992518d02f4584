# The two commands: `make run` serves the app, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python movies/manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
# Development defaults; real deployments set these in the environment.
export DEBUG ?= 1
export SECRET_KEY ?= dev-only-insecure-key-change-me

.PHONY: run serve test test-fast lint format bench clean superuser token manage audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

run: $(VENV)/.runtime-installed
	$(MANAGE) migrate --no-input
	$(MANAGE) populate_db --if-empty
	$(MANAGE) runserver $(HOST):$(PORT)

# Production-like, on this machine, in the foreground: PostgreSQL, Redis, gunicorn behind
# nginx, DEBUG off (deploy/serve.py; docs/deployment.md). The development SECRET_KEY
# above is not passed on: serve keeps a generated one in .serve/ unless one is set.
serve: $(VENV)/.runtime-installed
	$(if $(filter file,$(origin SECRET_KEY)),env -u SECRET_KEY) $(BIN)/python -m deploy.serve $(ARGS)

superuser: $(VENV)/.runtime-installed
	$(MANAGE) migrate --no-input
	$(MANAGE) createsuperuser $(ARGS)

# Prints the account's new API token (replacing any other): USERNAME=admin
token: $(VENV)/.runtime-installed
	@test -n "$(USERNAME)" || { echo "usage: make token USERNAME=<account>" >&2; exit 2; }
	@$(MANAGE) api_token issue "$(USERNAME)"

# Any manage.py command with these settings: make manage ARGS='populate_db file.json'
manage: $(VENV)/.runtime-installed
	$(MANAGE) $(ARGS)

test: $(VENV)/.dev-installed
	$(BIN)/pytest $(PYTEST_ARGS)

# While developing: leaves out the tests marked slow (servers, subprocesses, fuzzing).
test-fast: $(VENV)/.dev-installed
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=movies:. $(BIN)/mypy
	$(MANAGE) makemigrations --check --dry-run

# Known vulnerabilities in the pinned dependencies; needs the network (not run by CI).
audit: $(VENV)/.dev-installed
	$(BIN)/pip install --quiet pip-audit==2.10.1
	$(BIN)/pip-audit --requirement requirements.txt --requirement requirements-dev.txt

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.import_bench

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .serve
