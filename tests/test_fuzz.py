"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis).

Every operation of /api/schema/ is exercised twice, anonymously and with a staff
account's token, through the WSGI application in-process. Each generated request
must not be a 5xx and its answer must conform to the schema: a documented status
code, a documented content type and a body that matches the documented shape.

The budget is bounded and the generation is derandomized (fixed seed), so a run
is reproducible: about 2,200 cases in well under a minute on two cores. Raise
FUZZ_MAX_EXAMPLES (fuzzing-phase examples per operation and client) to fuzz
harder locally.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SCHEMA_PATH = "/api/schema/"
# Fuzzing-phase examples per operation and client; explicit examples and the
# coverage phase (boundary values, missing and malformed parameters) come on top.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
SEED = 20_240_601


def errors_have_the_api_shape(ctx, response, case) -> None:
    """Every error under /api/ is JSON {status, code, detail, errors}, even undocumented ones.

    The schema checks skip schemathesis's probes (an undocumented method or
    content type, ...); this one does not.
    """
    if response.status_code < 400:
        return
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
        f"{response.status_code} is not JSON: {response.headers.get('content-type')}"
    )
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) == {"status", "code", "detail", "errors"}, body
    assert body["status"] == response.status_code, body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    errors_have_the_api_shape,
]
EXPECTED_OPERATIONS = {
    f"{method} {path}"
    for path, methods in {
        "/api/movies": ("GET", "POST"),
        "/api/movies/{id}": ("GET", "PUT", "PATCH", "DELETE"),
        "/api/movies/suggest": ("GET",),
        "/api/genres": ("GET", "POST"),
        "/api/genres/{id}": ("GET", "PUT", "PATCH", "DELETE"),
        "/api/auth/token": ("POST",),
        "/api/changes": ("GET",),
        "/api/export": ("GET",),
    }.items()
    for method in methods
}

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            # Credentials are the test's business: anonymous means no Authorization at all.
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)

# Cases tried, by client and operation; reported at the end of the module.
CASES_TRIED: Counter[tuple[str, str]] = Counter()
STATUSES: defaultdict[tuple[str, str], Counter[int]] = defaultdict(Counter)


def load_schema():
    # Loaded at collection, so that every operation becomes a test of its own;
    # the schema view reads no database.
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi(SCHEMA_PATH, application, config=CONFIG)


schema = load_schema()
# Ids of the rows seeded for the running test, by path template.
SEEDED_IDS: dict[str, list[int]] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    # Random ids almost never exist: half the cases aim at a seeded row instead.
    ids = SEEDED_IDS.get(context.operation.path) if context.operation else None
    if not ids or "id" not in path_parameters:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(ids).map(lambda pk: {**path_parameters, "id": pk}),
    )


@pytest.fixture(autouse=True)
def no_throttling(monkeypatch):
    # Hundreds of requests a minute from one address is the point here.
    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    # The real WSGI handler closes "old" connections when a request starts and
    # ends, and one inside the test's transaction counts as old: on PostgreSQL
    # the transaction would be lost. Django's own test client steps aside the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded_ids(three_movies):
    """The three movies' and their genres' ids, for path parameters to aim at."""
    SEEDED_IDS["/api/movies/{id}"] = [movie.pk for movie in three_movies.movies]
    SEEDED_IDS["/api/genres/{id}"] = [genre.pk for genre in three_movies.genres]
    yield
    SEEDED_IDS.clear()


@pytest.fixture
def credentials(request, db) -> dict[str, str]:
    if request.param == "anonymous":
        return {}
    return {"Authorization": f"Token {request.getfixturevalue('editor_token')}"}


@pytest.fixture(scope="module", autouse=True)
def report_cases_tried(request, record_testsuite_property):
    """Print the cases tried after the fuzz tests, and record them in --junitxml reports."""
    yield
    total = sum(CASES_TRIED.values())
    if not total:
        return
    record_testsuite_property("schemathesis_cases_tried", total)
    lines = [f"schemathesis: {total} cases tried (max_examples={MAX_EXAMPLES}, seed={SEED})"]
    lines += [
        f"  {who:9} {label}: {count} ({dict(sorted(STATUSES[who, label].items()))})"
        for (who, label), count in sorted(CASES_TRIED.items())
    ]
    CASES_TRIED.clear()
    STATUSES.clear()
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("credentials", ["anonymous", "staff"], indirect=True)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # The fixtures seed the catalogue once per operation; each case rolls its writes back.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, seeded_ids, credentials):
    who = "staff" if credentials else "anonymous"
    CASES_TRIED[who, case.operation.label] += 1
    # Each case starts from the seeded catalogue: its writes are rolled back.
    with transaction.atomic():
        response = case.call_and_validate(headers=credentials, checks=CHECKS)
        transaction.set_rollback(True)
    STATUSES[who, case.operation.label][response.status_code] += 1


def test_schema_has_exactly_the_fuzzed_operations():
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert labels == EXPECTED_OPERATIONS
