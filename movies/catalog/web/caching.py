"""Caching of catalogue reads: ETags, Cache-Control and a server-side response cache.

A cached answer is kept with the versions of what it depends on (the whole
catalogue, or a part of it: catalog.scopes), and its ETag carries the greatest
of them. Every write raises, in its own transaction, the versions of what it
changes (catalog.versions): it invalidates every cached response and ETag it
may change at once, in every process, without deleting keys, and keeps the
others. An entry whose versions are no longer current is answered afresh and
replaced.

Two layers use them: CachedResponseMiddleware answers a repeated anonymous
read of a public route (catalog.web.routes: the API's JSON, the site's pages)
with the bytes it answered last time, before any view runs, and the API's
CachedReadMixin (catalog.api.caching) keeps list data for the other reads
(signed-in clients, the browsable API). What one layer tells the other about
a request travels in its CatalogueRead. With Redis as the cache, the versions
published there (catalog.versions) spare a repeated read its database query.
The site's pages get ETags, Cache-Control and throttles through
conditional_page and throttle_wait.

What the cache keeps is bounded two ways: an answer larger than
API_CACHE_MAX_BYTES is never kept (it is rendered again each time), and a
query parameter that a route's answer does not depend on (its PublicRead's
parameters) is left out of the request's fingerprint, so ``?n=1``, ``?n=2``, ... are one
entry rather than one each.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils.cache import patch_cache_control, patch_vary_headers
from rest_framework.settings import api_settings

from catalog.scopes import ALL
from catalog.search import InvalidSearch, Search
from catalog.versions import (
    VERSION_HINT_TTL_MS,
    current_versions,
    publish_versions,
    published_versions,
    shares_versions,
)
from catalog.web.errors import DatabaseUnavailable
from catalog.web.requests import is_anonymous_read
from catalog.web.routes import PUBLIC_READS

CACHE_KEY_PREFIX = "api-response"
# Its entries: (what the answer depends on, its bytes, its headers, the catalogue
# version read before it). The name changes with their shape, so that during a
# rolling deploy no process reads an entry of another shape.
BYTES_KEY_PREFIX = "api-bytes-v2"
# Distinct URLs whose route and fingerprint CachedResponseMiddleware remembers.
URL_MEMO_SIZE = 4_096
VARIES_WITH = ("Accept", "Authorization", "Cookie")
# Accept headers (their media types) the API always answers with compact JSON.
COMPACT_JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})
# The representation in a page's fingerprint: a page is HTML whatever the Accept header.
PAGE_REPRESENTATION = "html"


@dataclass
class CatalogueRead:
    """What the two cache layers learn about one read request, in the order they learn it."""

    # The versions of the parts of the catalogue (catalog.scopes) the answer may
    # depend on, read from the database (never the published ones) before the
    # answer's data, so that the data is never older than them.
    versions: dict[str, int] = field(default_factory=dict)
    # What the answer depends on: the whole catalogue, unless its view says less.
    depends_on: tuple[str, ...] = (ALL,)
    # CachedResponseMiddleware keeps this response's bytes: the view need not keep its data.
    bytes_kept: bool = False
    # When versions were first read (time.monotonic()).
    read_at: float | None = None

    @classmethod
    def of(cls, request: HttpRequest) -> CatalogueRead:
        request = getattr(request, "_request", request)  # Django's, under DRF's
        read = getattr(request, "catalogue_read", None)
        if read is None:
            read = cls()
            setattr(request, "catalogue_read", read)  # noqa: B010 - not a declared attribute
        return read

    def read_versions(self, scopes: Iterable[str]) -> None:
        """Read the versions of these scopes, those not read yet, in one query."""
        missing = [scope for scope in scopes if scope not in self.versions]
        if missing:
            if self.read_at is None:
                self.read_at = time.monotonic()
            self.versions.update(current_versions(missing))

    def may_publish(self) -> bool:
        """Whether the versions read may still be published: a write committed since they
        were read published newer ones that cannot have expired yet (they live
        VERSION_HINT_TTL_MS), and a publication never lowers a version."""
        return self.read_at is not None and (
            time.monotonic() - self.read_at < VERSION_HINT_TTL_MS / 1000 / 2
        )

    def depend_on(self, scopes: Iterable[str]) -> None:
        """Say what the answer depends on.

        Scopes whose versions were not read before its data (what it read is
        only known once it is computed) are read now. A write raises what it
        changes to a catalogue version above every one committed before it, so
        a scope still at or below the catalogue's version read before the data
        has not changed since, and its version is the one the data saw. When
        one is above, a write since may have changed what the data saw: the
        answer depends on the whole catalogue, at the version read before,
        which that write has outdated already.
        """
        scopes = tuple(scopes)
        late = [scope for scope in scopes if scope not in self.versions]
        if late:
            assert ALL in self.versions, "the catalogue's version is read before the data"
            now = current_versions(late)
            if any(version > self.versions[ALL] for version in now.values()):
                scopes = (ALL,)
            else:
                self.versions.update(now)
        self.depends_on = scopes

    def answered(self) -> tuple[tuple[str, int], ...]:
        """What the answer depends on, at the versions it was read at."""
        self.read_versions(self.depends_on)
        return tuple((scope, self.versions[scope]) for scope in self.depends_on)

    def answer_version(self) -> int:
        """The number an answer's ETag carries: it changes whenever what it depends on does."""
        return answer_version(self.answered())


def answer_version(answered: Iterable[tuple[str, int]]) -> int:
    # Every write raises what it changes to the new catalogue version, which is
    # greater than any version before it: the greatest changes with any of them.
    return max(version for _, version in answered)


def set_cache_headers(response: HttpResponse, *, private: bool, etag: str | None = None) -> None:
    """ETag and Cache-Control of a read: shared caches may keep anonymous answers only."""
    if etag is not None:
        response["ETag"] = etag
    if private or response.cookies:
        # A signed-in client's answer, or one that sets a cookie, is that client's alone.
        patch_cache_control(response, private=True, no_cache=True)
    else:
        patch_cache_control(response, public=True, max_age=settings.API_CACHE_MAX_AGE)
    patch_vary_headers(response, VARIES_WITH)


def request_fingerprint(request, renderer_format: str, route: str | None = None) -> str:
    """What makes two read requests the same: host, path, renderer, parameters.

    The parts are hashed as one JSON array, so no value can pass for another
    part (an encoded ``&`` or ``=`` inside a value stays inside it). Search
    terms are compared after splitting and normalising, in the order typed
    (which ranks them), so ``?search=War,the`` and ``?search=war the`` share an
    entry and ``?search=the war`` has its own. With the ``route`` answering,
    only the parameters its answer depends on count (its PublicRead's).
    """
    read = PUBLIC_READS.get(route) if route is not None else None
    known = read.parameters if read is not None else None
    params = []
    for name, values in sorted(request.GET.lists()):
        if known is not None and name not in known:
            continue
        for value in values:
            if name == "search":
                # An invalid search is refused by the view; errors are never cached.
                with contextlib.suppress(InvalidSearch):
                    value = list(Search.parse(value).typed)
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


def etag_for(version: int, fingerprint: str) -> str:
    return f'"{version}-{fingerprint}"'


def route_of(request: HttpRequest) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.url_name if match is not None else None


def keeps(content: bytes) -> bool:
    """Whether the response cache keeps an answer this long (API_CACHE_MAX_BYTES)."""
    return len(content) <= settings.API_CACHE_MAX_BYTES


def throttle_wait(request: HttpRequest) -> float | None:
    """None when the API's throttles (DEFAULT_THROTTLE_CLASSES) let this request through,
    else the seconds to wait before the next one. Every throttle sees the request, as
    Django REST framework's views check them."""
    waits = [
        throttle.wait()
        for throttle in (cls() for cls in api_settings.DEFAULT_THROTTLE_CLASSES)  # type: ignore[operator]
        if not throttle.allow_request(request, None)
    ]
    if not waits:
        return None
    return max((wait for wait in waits if wait is not None), default=0.0)


def conditional_page(request: HttpRequest, produce: Callable[[], HttpResponse]) -> HttpResponse:
    """A page's GET with the API's ETag, 304 and Cache-Control (a plain Django view's).

    The page must depend on its URL and the catalogue alone, as the API's
    reads do: its ETag is the catalogue version and the request's fingerprint,
    so every write invalidates it, and CachedResponseMiddleware keeps and
    replays an anonymous reader's answer (its route a page among the public reads). Shared caches
    may keep the answers of anonymous readers only. Only a 200 gets an ETag
    and Cache-Control.
    """
    read = CatalogueRead.of(request)
    fingerprint = request_fingerprint(request, PAGE_REPRESENTATION, route_of(request))
    etag = etag_for(read.answer_version(), fingerprint)
    private = not is_anonymous_read(request)
    if etag in request.headers.get("If-None-Match", ""):
        not_modified = HttpResponseNotModified()
        set_cache_headers(not_modified, private=private, etag=etag)
        return not_modified
    response = produce()
    if response.status_code == 200:
        set_cache_headers(response, private=private, etag=etag)
    return response


class CachedResponseMiddleware:
    """Answers repeated anonymous reads of the catalogue from the cache.

    Only requests that every anonymous client would get the same answer to
    qualify: GET or HEAD with no credentials and no session cookie, of a
    public read (catalog.web.routes): one of the API's, with JSON accepted,
    or one of the site's pages, which are HTML whatever is accepted
    (answered through conditional_page). Their
    bytes are stored under the request's fingerprint, with the versions of what
    they depend on, the first time the view answers, and replayed while those
    are current, after the same throttles the API applies. Everything else goes through the
    views as usual.
    """

    # X-Frame-Options (XFrameOptionsMiddleware) and Content-Security-Policy (the site's
    # views): set inside this middleware, for pages.
    REPLAYED_HEADERS = (
        "Content-Type",
        "Allow",
        "Vary",
        "Cache-Control",
        "X-Frame-Options",
        "Content-Security-Policy",
    )

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._urls: dict[tuple, tuple[ResolverMatch, str] | None] = {}

    def __call__(self, request):
        url = self._qualifying_url(request) if is_anonymous_read(request) else None
        if url is None:
            return self.get_response(request)
        match, fingerprint = url
        public = PUBLIC_READS[match.url_name or ""]
        page = public.page
        if not page and not self._accepts_compact_json(request):
            return self.get_response(request)
        request.resolver_match = match
        key = f"{BYTES_KEY_PREFIX}:{fingerprint}"
        try:
            cached = self._current_entry(request, key)
        except DatabaseUnavailable as error:
            if public.unavailable is None:
                return self.get_response(request)  # the view says so as it says it
            # Answered now: the view would only wait for the database once more.
            return public.unavailable(error)
        except DatabaseError:
            return self.get_response(request)  # the view answers as it would anyway
        if cached is not None and self._throttles_allow(request):
            answered, body, headers, _ = cached
            etag = etag_for(answer_version(answered), fingerprint)
            if etag in request.headers.get("If-None-Match", ""):
                not_modified = HttpResponseNotModified()
                set_cache_headers(not_modified, private=False, etag=etag)
                return not_modified
            response = HttpResponse(body if request.method == "GET" else b"", headers=headers)
            response["ETag"] = etag
            response["Content-Length"] = str(len(body))  # for HEAD too, as the view's answer
            return response
        read = CatalogueRead.of(request)
        read.bytes_kept = True
        response = self.get_response(request)
        if response.status_code == 200 and read.versions and keeps(response.content):
            # Kept with the versions the view read before its data.
            answered = read.answered()
            if response.get("ETag") == etag_for(answer_version(answered), fingerprint):
                headers = {
                    name: response[name] for name in self.REPLAYED_HEADERS if name in response
                }
                # With the catalogue's version when it was read (None when it was not):
                # until a write raises it, the answer is current whatever it depends on.
                seen = read.versions.get(ALL)
                entry = (answered, response.content, headers, seen)
                cache.set(key, entry, settings.API_CACHE_TIMEOUT)
                if shares_versions() and read.may_publish():
                    # So that the next read needs no query (after a slow answer, the next
                    # read publishes them).
                    publish_versions({**dict(answered), **({ALL: seen} if seen else {})})
        return response

    @staticmethod
    def _current_entry(request, key: str) -> tuple | None:
        """The stored answer, if what it depends on is unchanged since it was kept.

        When the catalogue's version is still the one read before the answer,
        no write has been made since, and what it depends on need not be
        looked at: one key to read, however many parts it depends on.
        """
        cached = cache.get(key)
        if cached is None:
            return None
        answered = cached[0]
        seen = cached[3]
        scopes = [scope for scope, _ in answered]
        versions: dict[str, int] = {}
        if shares_versions():
            if seen:
                versions = published_versions([ALL])
                if versions.get(ALL) == seen:
                    return cached
            versions.update(published_versions(scopes))
        unpublished = [scope for scope in scopes if scope not in versions]
        if seen and ALL not in versions:
            unpublished.append(ALL)  # read in the same query, and published
        if unpublished:
            read = CatalogueRead.of(request)
            read.read_versions(unpublished)
            found = {scope: read.versions[scope] for scope in unpublished}
            if shares_versions():
                publish_versions(found)
            versions.update(found)
        if seen and versions[ALL] == seen:
            return cached
        return cached if all(versions[scope] == version for scope, version in answered) else None

    @staticmethod
    def _accepts_compact_json(request) -> bool:
        # Only what the API answers with compact JSON whatever it negotiates:
        # anything else goes to the view, which may answer 406, HTML or indented JSON.
        accept = request.headers.get("Accept", "")
        media_types = {part.split(";")[0].strip() for part in accept.split(",")}
        return media_types <= COMPACT_JSON_ACCEPTS and "indent" not in accept

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
            public = PUBLIC_READS.get(match.url_name or "") if match is not None else None
            if match is not None and public is not None:
                representation = PAGE_REPRESENTATION if public.page else "json"
                facts = (match, request_fingerprint(request, representation, public.name))
        if len(self._urls) >= URL_MEMO_SIZE:
            self._urls.clear()
        self._urls[url] = facts
        return facts

    @staticmethod
    def _throttles_allow(request) -> bool:
        request.user = AnonymousUser()
        return throttle_wait(request) is None
