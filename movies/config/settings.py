"""Settings for the movie catalog, read from the environment.

Every value an operator may change comes from an environment variable (see the
configuration table in the README). The zero-configuration default is an SQLite
file at the repository root; production strictness follows from the values:
with DEBUG off there is no default SECRET_KEY.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BASE_DIR.parent

MISSING_SECRET_KEY = (
    "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
    "string (DEBUG is off, so there is no default)."
)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value.strip() else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(MISSING_SECRET_KEY)
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "catalog",
    "operations",
]

# Sessions, authentication, CSRF and messages exist for the admin and the
# browsable API; the BackOffice* subclasses step aside for anonymous API requests.
MIDDLEWARE = [
    # First, so the whole request (session and authentication included) is one
    # read-your-writes scope for the replica router; a no-op without replicas.
    "operations.database_routing.PrimaryAfterWriteMiddleware",
    "operations.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Outside the session and CSRF middleware, whose cookies it makes private.
    "operations.back_office.PrivateCookiesMiddleware",
    "catalog.web.caching.CachedResponseMiddleware",
    "operations.back_office.BackOfficeSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "operations.back_office.BackOfficeAuthenticationMiddleware",
    "operations.back_office.BackOfficeMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a login refused for too many failures into a 429 (operations.logins).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{REPO_ROOT / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# PostgreSQL streaming replicas, read from by operations.database_routing. In tests each
# replica alias mirrors the primary's test database, which the replicas receive
# through replication (Django creates no test database of its own for them).
for index, url in enumerate(env_list("DATABASE_REPLICA_URLS")):
    DATABASES[f"replica_{index}"] = dj_database_url.parse(
        url,
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
        test_options={"MIRROR": "default"},
    )
for database in DATABASES.values():
    if database["ENGINE"] == "django.db.backends.postgresql":
        # libpq would wait for ever: a database that stops answering would hold
        # each request until gunicorn kills the worker.
        database.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5)
        )
        # Web workers set it (config/gunicorn.py) below gunicorn's own timeout,
        # so a request too slow to finish is undone and answered in JSON
        # rather than killed; commands such as populate_db run without one.
        statement_timeout = env_int("DATABASE_STATEMENT_TIMEOUT", 0)
        if statement_timeout:
            database["OPTIONS"]["options"] = f"-c statement_timeout={statement_timeout * 1000}"
if "replica_0" in DATABASES:
    DATABASE_ROUTERS = ["operations.database_routing.PrimaryReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets API readers keep reading the old catalogue while an import writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The order indexes carry search_text for PostgreSQL's index-only scans;
# SQLite ignores that part, which is all this warning says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Brute-force protection of the admin login and POST /api/auth/token (operations.logins).
AXES_ENABLED = env_bool("LOGIN_PROTECTION", default=True)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "operations.logins.client_address"
AXES_LOCKOUT_CALLABLE = "operations.logins.lockout_response"
AXES_VERBOSE = False
# "5 failed attempts in a row": a successful login clears its own account's
# failures from that address (operations.logins), not the other accounts'.
AXES_RESET_ON_SUCCESS = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = REPO_ROOT / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def redis_cache(url: str, *, timeout: float = 0.25) -> dict:
    """The cache settings for the Redis at ``url``."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "movies"),
        "OPTIONS": {
            # Redis going away degrades to no cache, never to errors.
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": timeout,
            "SOCKET_TIMEOUT": timeout,
            # After a failed command, Redis is skipped for REDIS_RETRY_SECONDS:
            # one timeout per request at most, one log line per outage.
            "REDIS_CLIENT_CLASS": "operations.redis.FailFastRedis",
        },
    }


# A shared cache (Redis) when REDIS_URL is set, so every worker and machine
# sees the same response cache and throttle counts; per-process memory otherwise.
# Redis must evict when full (maxmemory-policy allkeys-lru, deploy/redis.conf).
REDIS_URL = env_str("REDIS_URL")
CACHES = {
    "default": (
        redis_cache(REDIS_URL)
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Seconds Redis is left alone after a command fails, before one command tries it again.
REDIS_RETRY_SECONDS = env_int("REDIS_RETRY_SECONDS", 10)
# Seconds clients and proxies may reuse an anonymous GET response.
API_CACHE_MAX_AGE = env_int("API_CACHE_MAX_AGE", 30)
# Seconds a rendered list response stays in the server-side cache (writes
# invalidate it at once, whatever this says).
API_CACHE_TIMEOUT = env_int("API_CACHE_TIMEOUT", 300)
# The largest answer (bytes) the server-side cache keeps; larger ones are rendered
# each time, so that no request can make one entry take the cache's memory.
API_CACHE_MAX_BYTES = env_int("API_CACHE_MAX_BYTES", 256 * 1024)

# Milliseconds a request may spend correcting words ("did you mean", typos in
# suggestions); past them it answers without (more) corrections.
CORRECTION_BUDGET_MS = env_int("CORRECTION_BUDGET_MS", 60)
# How long the changes feed keeps a deletion (catalog.changes); older tokens get a 410.
CHANGES_RETENTION_DAYS = env_int("CHANGES_RETENTION_DAYS", 30)
# A token that may read /api/export besides staff accounts ("" for staff only).
EXPORT_TOKEN = env_str("EXPORT_TOKEN")

REST_FRAMEWORK = {
    "DEFAULT_PAGINATION_CLASS": "catalog.api.pagination.CatalogPagination",
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_RENDERER_CLASSES": [
        "catalog.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["catalog.api.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes anonymous writes a 401.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["catalog.api.permissions.StaffModelPermissionsOrReadOnly"],
    # DRF's, counting in process memory while Redis is skipped (operations.throttling).
    "DEFAULT_THROTTLE_CLASSES": [
        "operations.throttling.AnonRateThrottle",
        "operations.throttling.UserRateThrottle",
        # Only views with a throttle_scope: the token endpoint.
        "operations.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON_RATE", "600/minute") or None,
        "user": env_str("THROTTLE_USER_RATE", "3000/minute") or None,
        # POST /api/auth/token, per client address, whether the password is right or not.
        "token": env_str("THROTTLE_TOKEN_RATE", "10/minute") or None,
    },
    # Proxies in front that append to X-Forwarded-For; 0 trusts only the peer address.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "EXCEPTION_HANDLER": "catalog.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Movie catalog API",
    "DESCRIPTION": (
        "An IMDb-like movie catalogue. Reads are public; writes need a staff "
        "account's API token (`Authorization: Token <key>`) or an admin session. "
        "Every error has the shape `{status, code, detail, errors}`."
    ),
    "VERSION": "1.0.0",
    # Swagger UI and ReDoc from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "catalog.api.schema.without_trailing_slashes",
    ],
}

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]

# /metrics: on unless METRICS_ENABLED=0; when METRICS_TOKEN is set, scrapers
# must send it as a bearer token.
METRICS_ENABLED = env_bool("METRICS_ENABLED", default=True)
METRICS_TOKEN = env_str("METRICS_TOKEN")

# Production hardening, switched on by configuration behind a TLS proxy.
if env_bool("SECURE_PROXY_SSL", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Off by default so plain-HTTP local runs work; turn on behind a TLS proxy.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redis_outage": {"()": "operations.redis.OutageFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        # It reports a catalogue version it could not publish to Redis: during an
        # outage, operations.redis has logged the outage once already.
        "catalog.versions": {"filters": ["redis_outage"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
