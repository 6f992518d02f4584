"""``make serve``: the service as production runs it, on this machine, in the foreground.

    python -m deploy.serve [--listen 127.0.0.1:8080] [--upstream 127.0.0.1:8000]
                           [--catalogue FILE] [--state-dir .serve]

In order: PostgreSQL and Redis (``deploy/services`` starts them when nothing answers on
their usual local ports), the database (created if missing), the build and release
steps (``collectstatic``, ``migrate``, then ``populate_db --if-empty`` with the
catalogue, ``fixtures/imdb.json`` by default), gunicorn as the Procfile starts it,
bound to ``--upstream``, and nginx in front of it with the shipped configuration
(``deploy/nginx.py``), listening on ``--listen``. Both log to the terminal; Ctrl-C
stops nginx, then gunicorn. docs/deployment.md walks through the same steps by hand.

The environment configures the app as in production (the README's Configuration),
with ``DEBUG`` off and these defaults: ``DATABASE_URL``
postgres://postgres@127.0.0.1:5432/movies, ``REDIS_URL`` redis://127.0.0.1:6379/0,
``NUM_PROXIES`` 1 (nginx), ``PROMETHEUS_MULTIPROC_DIR`` the state directory's
``metrics/`` (emptied at each start) and a ``SECRET_KEY`` generated once and kept in
the state directory's ``secret-key``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from deploy.nginx import Nginx

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_DIR = REPO_ROOT / "movies"
SERVICES = REPO_ROOT / "deploy" / "services"
DEFAULT_CATALOGUE = REPO_ROOT / "fixtures" / "imdb.json"
DEFAULT_STATE_DIR = REPO_ROOT / ".serve"
DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/movies",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "NUM_PROXIES": "1",
}
# deploy/services starts these, and only these, when they do not answer.
LOCAL_SERVICES = {("postgres", 5432), ("redis", 6379)}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
GUNICORN_START_SECONDS = 60.0
STOP_SECONDS = 30.0
NOT_POSTGRES = "DATABASE_URL must name a PostgreSQL database (production-like), got {url!r}"
GUNICORN_EXITED = "gunicorn exited with {code}"
GUNICORN_SILENT = "gunicorn did not answer on {address} within {seconds:.0f} s"


class ServeError(Exception):
    """A step that failed; the message says which and why."""


def step(message: str) -> None:
    sys.stderr.write(f"--- {message}\n")
    sys.stderr.flush()


def app_environment(state_dir: Path, *, listen_host: str) -> dict[str, str]:
    """This process's environment with production settings and the defaults above."""
    env = dict(os.environ)
    for name, default in DEFAULTS.items():
        env[name] = env.get(name) or default
    env["DEBUG"] = "0"
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = kept_secret_key(state_dir / "secret-key")
    if not env.get("ALLOWED_HOSTS") and listen_host not in LOCAL_HOSTS | {"0.0.0.0", "*"}:
        env["ALLOWED_HOSTS"] = f"localhost,127.0.0.1,[::1],{listen_host}"
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        env["PROMETHEUS_MULTIPROC_DIR"] = str(state_dir / "metrics")
    metrics = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(metrics, ignore_errors=True)  # a new gunicorn counts from zero
    metrics.mkdir(parents=True)
    return env


def kept_secret_key(path: Path) -> str:
    """The key in ``path``, written there first if there is none: sessions outlive a restart."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


def is_local_service(url: str) -> bool:
    parts = urlsplit(url)
    scheme = "postgres" if parts.scheme.startswith("postg") else parts.scheme
    port = parts.port or {"postgres": 5432, "redis": 6379}.get(scheme)
    return parts.hostname in LOCAL_HOSTS and (scheme, port) in LOCAL_SERVICES


def start_services(env: dict[str, str]) -> None:
    """This machine's PostgreSQL and Redis, when the app uses them and they are down."""
    if is_local_service(env["DATABASE_URL"]) or is_local_service(env["REDIS_URL"]):
        run(["bash", str(SERVICES)], env=env)


def create_database(database_url: str) -> None:
    """Create the database ``database_url`` names, unless it exists."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if not exists:
                step(f"creating the database {name}")
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise ServeError(f"PostgreSQL: {error}") from None


def run(command: Sequence[str], *, env: dict[str, str]) -> None:
    completed = subprocess.run(command, env=env, cwd=REPO_ROOT, check=False)
    if completed.returncode != 0:
        raise ServeError(f"{' '.join(command)} exited with {completed.returncode}")


def manage(env: dict[str, str], *args: str) -> None:
    run([sys.executable, str(APP_DIR / "manage.py"), *args], env=env)


def answers(address: str, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def start_gunicorn(env: dict[str, str], upstream: str) -> subprocess.Popen:
    """gunicorn as the Procfile starts it, bound to ``upstream``, once it answers /livez."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "--chdir",
            str(APP_DIR),
            "--config",
            str(APP_DIR / "config" / "gunicorn.py"),
            "--bind",
            upstream,
            "config.wsgi",
        ],
        env=env,
        cwd=REPO_ROOT,
        # Stopped by this process, after nginx, not by the terminal's Ctrl-C.
        start_new_session=True,
    )
    deadline = time.monotonic() + GUNICORN_START_SECONDS
    while not answers(upstream, "/livez"):
        if process.poll() is not None:
            raise ServeError(GUNICORN_EXITED.format(code=process.returncode))
        if time.monotonic() > deadline:
            stop(process)
            raise ServeError(
                GUNICORN_SILENT.format(address=upstream, seconds=GUNICORN_START_SECONDS)
            )
        time.sleep(0.2)
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()  # gunicorn: finish the requests in hand, then exit
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def host_and_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "0.0.0.0", int(port)


def serve(args: argparse.Namespace) -> int:
    listen_host, listen_port = host_and_port(args.listen)
    env = app_environment(args.state_dir, listen_host=listen_host)
    if not urlsplit(env["DATABASE_URL"]).scheme.startswith("postg"):
        raise ServeError(NOT_POSTGRES.format(url=env["DATABASE_URL"]))
    step("PostgreSQL and Redis")
    start_services(env)
    create_database(env["DATABASE_URL"])
    step("build: collectstatic")
    manage(env, "collectstatic", "--no-input", "--verbosity", "0")
    step("release: migrate")
    manage(env, "migrate", "--no-input")
    step(f"catalogue: {args.catalogue}, if the database has none")
    manage(env, "populate_db", str(args.catalogue), "--if-empty")

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    step(f"gunicorn on {args.upstream}")
    gunicorn = start_gunicorn(env, args.upstream)
    try:
        step(f"nginx on {args.listen}")
        with Nginx(
            port=listen_port, upstream=args.upstream, host=listen_host, output=sys.stderr
        ) as nginx:
            step(
                f"serving http://{args.listen}/ (the search page), /api/, /admin/ and "
                "/healthz; Ctrl-C stops"
            )
            while not stopping.wait(0.5):
                if gunicorn.poll() is not None or nginx.process.poll() is not None:
                    break
            step("stopping nginx, then gunicorn")
    finally:
        stop(gunicorn)
    if not stopping.is_set():
        raise ServeError("gunicorn or nginx exited on its own; see its log above")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--listen", default="127.0.0.1:8080", help="nginx's address and port")
    parser.add_argument("--upstream", default="127.0.0.1:8000", help="gunicorn's address")
    parser.add_argument(
        "--catalogue",
        type=Path,
        default=DEFAULT_CATALOGUE,
        help="catalogue file loaded into an empty database (default: fixtures/imdb.json)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="for the kept SECRET_KEY and the workers' metrics (default: .serve)",
    )
    args = parser.parse_args(argv)
    try:
        return serve(args)
    except (ServeError, RuntimeError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    except KeyboardInterrupt:  # before gunicorn and nginx: nothing to stop
        return 130


if __name__ == "__main__":
    sys.exit(main())
