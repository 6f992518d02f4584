"""Caching of catalogue reads: ETags, Cache-Control and a server-side response cache.

Both the ETag and the cache keys start with CatalogueVersion, which every write
increments in its own transaction (API, admin, populate_db alike). A write
therefore invalidates every cached response and every ETag at once, in every
process, without deleting keys; stale entries simply age out.

Two layers use them: CachedResponseMiddleware answers a repeated anonymous
JSON read with the bytes it answered last time, before Django REST framework
runs at all, and CachedReadMixin keeps list data for the other reads (signed-in
clients, the browsable API).

With a shared cache (Redis), every write also publishes the new version there
(CatalogueVersion.bump(), once in the transaction and again on commit), so a
repeated read costs one cache round trip and no database query. The published
version only ever grows, and it expires after VERSION_HINT_TTL_MS: should a
writer die between its commit and the publication, reads are stale for at
most that long. Without a shared cache, every read asks the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import DatabaseError, router, transaction
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils.cache import patch_cache_control, patch_vary_headers
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.mediatypes import _MediaType

from catalog.errors import DatabaseUnavailable, api_unavailable
from catalog.models import CatalogueVersion, catalogue_changed
from catalog.search import InvalidSearch, split_terms
from config.middleware import API_PREFIX

CACHE_KEY_PREFIX = "api-response"
BYTES_KEY_PREFIX = "api-bytes"
# Distinct URLs whose route and fingerprint CachedResponseMiddleware remembers.
URL_MEMO_SIZE = 4_096
VERSION_HINT_KEY = "catalogue-version"
VERSION_HINT_TTL_MS = 1000
# Sets the published version unless a newer one is there (writers may commit in
# one order and publish in another), and restarts its expiry.
RAISE_VERSION_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]))
local new = tonumber(ARGV[1])
if current == nil or current < new then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif current == new then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
"""

logger = logging.getLogger(__name__)


def shares_versions() -> bool:
    """Whether the cache is Redis, which every process shares, so the version can live there."""
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def publish_version(version: int) -> None:
    """Make ``version`` the published one, unless a newer one already is."""
    from django_redis import get_redis_connection

    try:
        get_redis_connection("default").eval(
            RAISE_VERSION_SCRIPT, 1, cache.make_key(VERSION_HINT_KEY), version, VERSION_HINT_TTL_MS
        )
    except Exception:  # noqa: BLE001 - Redis away: readers fall back to the database
        logger.warning("could not publish catalogue version %s", version, exc_info=True)


@receiver(catalogue_changed)
def catalogue_version_raised(sender, version: int, **kwargs) -> None:
    if not shares_versions():
        return
    # Now, so readers stop replaying the old version before the commit (they
    # then read the database, which still has it), and on commit, in case the
    # first publication expired during a long transaction. Outside a
    # transaction the write is already committed: once is enough.
    publish_version(version)
    using = router.db_for_write(CatalogueVersion)
    if transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(lambda: publish_version(version), using=using)


def request_fingerprint(request, renderer_format: str) -> str:
    """What makes two read requests the same: host, path, renderer, parameters.

    The parts are hashed as one JSON array, so no value can pass for another
    part (an encoded ``&`` or ``=`` inside a value stays inside it). Search
    terms are compared after splitting and normalising, so ``?search=War,the``
    and ``?search=the war`` share an entry.
    """
    params = []
    for name, values in sorted(request.GET.lists()):
        for value in values:
            if name == "search":
                # An invalid search is refused by the view; errors are never cached.
                with contextlib.suppress(InvalidSearch):
                    value = sorted(split_terms(value))
            params.append([name, value])
    parts = [
        request.scheme,
        request.get_host(),
        request.path.rstrip("/"),
        renderer_format,
        params,
    ]
    encoded = json.dumps(parts, ensure_ascii=True, separators=(",", ":")).encode()
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def representation(request) -> str:
    """The renderer's format, and the indent asked for in Accept: ``json``, ``json;indent=2``."""
    indent = _MediaType(request.accepted_media_type or "").params.get("indent")
    fmt = request.accepted_renderer.format
    return f"{fmt};indent={indent}" if indent is not None else fmt


def etag_for(version: int, fingerprint: str) -> str:
    return f'"{version}-{fingerprint}"'


class CachedReadMixin:
    """ETag/304 for list and detail, and a shared cache of list responses."""

    def list(self, request, *args, **kwargs):
        return self._conditional(request, super().list, args, kwargs, cache_data=True)

    def retrieve(self, request, *args, **kwargs):
        return self._conditional(request, super().retrieve, args, kwargs, cache_data=False)

    def _conditional(self, request, produce, args, kwargs, *, cache_data: bool):
        # The database's version, which the data below goes with; read once per
        # request (CachedResponseMiddleware may have), never the published one.
        version = getattr(request, "catalogue_version", None)
        if version is None:
            version = request._request.catalogue_version = CatalogueVersion.current()
        fingerprint = request_fingerprint(request, representation(request))
        etag = etag_for(version, fingerprint)
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        key = f"{CACHE_KEY_PREFIX}:{version}:{fingerprint}"
        # CachedResponseMiddleware keeps the rendered bytes of this one already.
        cache_data = cache_data and not getattr(request, "response_bytes_kept", False)
        data = cache.get(key) if cache_data else None
        if data is not None:
            response = Response(data)
        else:
            response = produce(request, *args, **kwargs)
            if response.status_code != status.HTTP_200_OK:
                return response
            if cache_data:
                cache.set(key, response.data, settings.API_CACHE_TIMEOUT)
        response["ETag"] = etag
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code in (200, 304):
            if request.user and request.user.is_authenticated:
                patch_cache_control(response, private=True, no_cache=True)
            else:
                patch_cache_control(response, public=True, max_age=settings.API_CACHE_MAX_AGE)
            patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
        return response


class CachedResponseMiddleware:
    """Answers repeated anonymous JSON reads of the catalogue from the cache.

    Only requests that every anonymous client would get the same answer to
    qualify: GET or HEAD of a movie or genre list or detail, no credentials,
    no session cookie, JSON accepted. Their bytes are stored under the
    response's ETag (catalogue version + request fingerprint) the first time
    the view answers, and replayed from then on, after the same throttles the
    API applies. Everything else goes through the views as usual.
    """

    ROUTES = {"movie-list", "movie-detail", "genre-list", "genre-detail"}
    REPLAYED_HEADERS = ("Content-Type", "Allow", "Vary", "Cache-Control")

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._urls: dict[tuple, tuple[ResolverMatch, str] | None] = {}

    def __call__(self, request):
        response = self._respond(request)
        if response.cookies and "public" in response.get("Cache-Control", ""):
            # A response that sets a cookie is one client's: never shared by a cache.
            patch_cache_control(response, private=True, no_cache=True)
        return response

    def _respond(self, request):
        url = self._qualifying_url(request) if self._qualifying_client(request) else None
        if url is None:
            return self.get_response(request)
        request.resolver_match, fingerprint = url
        key = f"{BYTES_KEY_PREFIX}:{fingerprint}"
        try:
            version, cached = self._version_and_entry(request, key)
        except DatabaseUnavailable as error:
            # Answered now: the view would only wait for the database once more.
            return api_unavailable(error)
        except DatabaseError:
            return self.get_response(request)  # the view answers as it would anyway
        etag = etag_for(version, fingerprint)
        not_modified = etag in request.headers.get("If-None-Match", "")
        replay = cached is not None and cached[0] == version
        if (not_modified or replay) and self._throttles_allow(request):
            if not_modified:
                response = HttpResponseNotModified()
                response["ETag"] = etag
                patch_cache_control(response, public=True, max_age=settings.API_CACHE_MAX_AGE)
                patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
                return response
            _, body, headers = cached
            response = HttpResponse(body if request.method == "GET" else b"", headers=headers)
            response["ETag"] = etag
            return response
        request.response_bytes_kept = True
        response = self.get_response(request)
        # Stored under the version the view read from the database with its data.
        answered = getattr(request, "catalogue_version", None)
        if (
            response.status_code == 200
            and answered is not None
            and response.get("ETag") == etag_for(answered, fingerprint)
        ):
            headers = {name: response[name] for name in self.REPLAYED_HEADERS if name in response}
            cache.set(key, (answered, response.content, headers), settings.API_CACHE_TIMEOUT)
        return response

    @staticmethod
    def _version_and_entry(request, key: str) -> tuple[int, tuple | None]:
        """The catalogue version and the stored answer, in one cache round trip if possible."""
        if shares_versions():
            found = cache.get_many([VERSION_HINT_KEY, key])
            if VERSION_HINT_KEY in found:
                return found[VERSION_HINT_KEY], found.get(key)
            version = CatalogueVersion.current()
            publish_version(version)
        else:
            version, found = CatalogueVersion.current(), {key: cache.get(key)}
        request.catalogue_version = version
        return version, found.get(key)

    @staticmethod
    def _qualifying_client(request) -> bool:
        if request.method not in ("GET", "HEAD") or not request.path_info.startswith(API_PREFIX):
            return False
        if "Authorization" in request.headers or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return False
        accept = request.headers.get("Accept", "*/*")
        if "indent" in accept:
            return False  # stored bytes are compact
        return "json" in accept or accept.strip() in ("", "*/*")

    def _qualifying_url(self, request) -> tuple[ResolverMatch, str] | None:
        """The URL's route and fingerprint, or None for a URL that never qualifies.

        Both depend on the URL alone, and clients repeat URLs: they are
        remembered (for the last URL_MEMO_SIZE distinct ones), which spares a
        repeated read the URL resolution and the parsing of its parameters.
        """
        url = (
            request.scheme,
            request.META.get("HTTP_HOST"),
            request.path_info,
            request.META.get("QUERY_STRING", ""),
        )
        if url in self._urls:
            return self._urls[url]
        facts = None
        if "format" not in request.GET:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and match.url_name in self.ROUTES:
                facts = (match, request_fingerprint(request, "json"))
        if len(self._urls) >= URL_MEMO_SIZE:
            self._urls.clear()
        self._urls[url] = facts
        return facts

    @staticmethod
    def _throttles_allow(request) -> bool:
        request.user = AnonymousUser()
        return all(
            throttle().allow_request(request, None)
            for throttle in api_settings.DEFAULT_THROTTLE_CLASSES
        )
