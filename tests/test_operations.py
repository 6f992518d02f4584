import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError
from rest_framework.settings import api_settings

from catalog.api.errors import BAD_REQUEST, error_body
from tests.factories import MovieFactory, UserFactory
from tests.support.redis import redis_server
from tests.support.tcp_proxy import TCPProxy

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


def refuse_database(monkeypatch, target: str, message: str) -> None:
    """Make ``target`` fail as a database that does not answer fails."""

    def refuse(*args, **kwargs):
        raise OperationalError(message)

    monkeypatch.setattr(target, refuse)


def test_healthz_is_503_when_the_database_does_not(client, monkeypatch):
    refuse_database(monkeypatch, "operations.health.connection.cursor", "connection refused")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["checks"]["database"]) == ("unavailable", "unavailable")


def test_livez_answers_without_asking_the_database(client, monkeypatch):
    refuse_database(monkeypatch, "operations.health.connection.cursor", "connection refused")
    response = client.get("/livez")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.fixture
def redis_behind_a_proxy(settings) -> Iterator[TCPProxy]:
    """The real Redis as the cache, configured as in production, through a proxy to cut."""
    redis = redis_server()
    if not redis.answers():
        pytest.skip(f"Redis does not answer on {redis.host}:{redis.port}")
    with TCPProxy(upstream=(redis.host, redis.port)) as proxy:
        settings.REDIS_URL = redis.url(port=proxy.port)
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": settings.REDIS_URL,
                "KEY_PREFIX": f"movies-test-health-{os.getpid()}",
                "OPTIONS": {
                    "IGNORE_EXCEPTIONS": True,
                    "SOCKET_CONNECT_TIMEOUT": 0.25,
                    "SOCKET_TIMEOUT": 0.25,
                },
            }
        }
        yield proxy


def test_with_redis_down_healthz_is_200_degraded_and_the_api_answers(client, redis_behind_a_proxy):
    MovieFactory()
    healthy = client.get("/healthz")
    assert (healthy.status_code, healthy.json()) == (
        200,
        {"status": "ok", "checks": {"database": "ok", "redis": "ok"}},
    )
    redis_behind_a_proxy.cut()
    degraded = client.get("/healthz")
    # Every machine shares the one Redis: a 503 here would take them all out of rotation.
    assert (degraded.status_code, degraded.json()) == (
        200,
        {"status": "degraded", "checks": {"database": "ok", "redis": "unavailable"}},
    )
    assert client.get("/api/movies").json()["count"] == 1
    redis_behind_a_proxy.restore()
    assert client.get("/healthz").json()["status"] == "ok"


def test_with_the_database_down_healthz_is_503_whatever_redis_says(
    client, monkeypatch, redis_behind_a_proxy
):
    refuse_database(monkeypatch, "operations.health.connection.cursor", "connection refused")
    redis_behind_a_proxy.cut()
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "checks": {"database": "unavailable", "redis": "unavailable"}},
    )


def test_metrics_count_requests_per_route_and_status(client):
    client.get("/api/movies")
    client.get("/api/movies?limit=abc")
    body = client.get("/metrics").content.decode()
    assert 'movies_http_requests_total{method="GET",route="movie-list",status="200"}' in body
    assert 'status="400"' in body
    assert "movies_db_queries_total" in body
    assert "movies_http_request_duration_seconds_bucket" in body


def test_metrics_can_require_a_token_or_be_disabled(client, settings):
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
    settings.METRICS_ENABLED = False
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 404


def test_anonymous_clients_are_throttled_with_retry_after(client, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "anon", "3/minute")
    monkeypatch.setattr(
        "rest_framework.throttling.AnonRateThrottle.THROTTLE_RATES",
        api_settings.DEFAULT_THROTTLE_RATES,
    )
    statuses = [client.get("/api/genres").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/genres")
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"


def test_cors_allows_configured_origins(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    allowed = client.get("/api/movies", HTTP_ORIGIN="https://app.example.com")
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = client.get("/api/movies", HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("put", "/api/movies", 405),
        ("delete", "/api/genres", 405),
        ("get", "/api/no/such/thing", 404),
        ("post", "/api/nothing", 404),
    ],
)
def test_every_api_error_has_the_one_json_shape(client, editor, method, path, status):

    client.force_login(editor)
    response = getattr(client, method)(path, content_type="application/json")
    assert response.status_code == status
    assert set(response.json()) == {"status", "code", "detail", "errors"}


def test_a_host_not_served_is_a_json_400_under_the_api_and_a_plain_one_elsewhere(client):
    for path in ("/api/movies", "/api/nowhere", "/api/movies?search=x"):
        api = client.get(path, HTTP_HOST="evil.example.com")
        assert (api.status_code, api.json()) == (400, error_body(400, "bad_request", BAD_REQUEST))
    page = client.get("/admin/", HTTP_HOST="evil.example.com")
    assert (page.status_code, page.headers["Content-Type"]) == (400, "text/html; charset=utf-8")


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(client, monkeypatch):
    MovieFactory()

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("catalog.api.serializers.MovieSerializer.to_representation", explode)
    client.raise_request_exception = False
    response = client.get("/api/movies")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert b"secret internals" not in response.content


def test_a_database_outage_is_a_json_503_with_retry_after(client, monkeypatch):
    target = "catalog.models.CatalogueVersion.current"
    refuse_database(monkeypatch, target, "could not connect to server")
    response = client.get("/api/movies")
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert response.headers["Retry-After"] == "5"
    assert b"connect" not in response.content


@pytest.mark.slow
def test_the_procfile_web_command_loads_its_configuration(settings):
    """The command operators deploy with, run from the repository root as platforms do."""
    procfile = (settings.REPO_ROOT / "Procfile").read_text()
    [web] = [
        line.removeprefix("web:").split()
        for line in procfile.splitlines()
        if line.startswith("web:")
    ]
    assert web[0] == "gunicorn"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    completed = subprocess.run(
        [str(gunicorn), *web[1:], "--check-config"],
        cwd=settings.REPO_ROOT,
        env={**os.environ, "SECRET_KEY": "test-only-secret-key", "DEBUG": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


# Every page a browser may load, anonymous or signed in: those that set a cookie.
COOKIE_PAGES = [
    "/",
    "/?q=heat",
    "/api/docs/",
    "/api/redoc/",
    "/api/movies",
    "/api/genres",
    "/api/movies/suggest?q=he",
    "/admin/login/",
    "/admin/",
    "/healthz",
    "/api/nothing-here",
    "/nothing-here",
]


def set_cookies_privately(response) -> bool:
    cache_control = response.headers.get("Cache-Control", "")
    return not response.cookies or ("private" in cache_control and "public" not in cache_control)


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("accept", ["*/*", "text/html"])
def test_a_response_that_sets_a_cookie_is_never_for_shared_caches(client, signed_in, accept):
    if signed_in:
        client.force_login(UserFactory(superuser=True))
    setting_cookies = 0
    for url in COOKIE_PAGES:
        response = client.get(url, HTTP_ACCEPT=accept)
        setting_cookies += bool(response.cookies)
        assert set_cookies_privately(response), (url, response.headers)
    assert setting_cookies  # the check saw cookies set


def test_logging_in_sets_its_cookies_privately(client):
    UserFactory(superuser=True, username="admin", password="a long passphrase")
    form = client.get("/admin/login/")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": "a long passphrase"},
        HTTP_X_CSRFTOKEN=form.cookies["csrftoken"].value,
    )
    assert response.status_code == 302
    assert settings.SESSION_COOKIE_NAME in response.cookies
    assert set_cookies_privately(response)
