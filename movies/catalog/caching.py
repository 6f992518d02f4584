"""Caching of catalogue reads: ETags, Cache-Control and a server-side response cache.

Both the ETag and the cache key start with CatalogueVersion, which every write
increments in its own transaction (API, admin, populate_db alike). A write
therefore invalidates every cached list and every ETag at once, in every
process, without deleting keys; stale entries simply age out.
"""

from __future__ import annotations

import contextlib
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils.cache import patch_cache_control, patch_vary_headers
from rest_framework import status
from rest_framework.response import Response

from catalog.models import CatalogueVersion
from catalog.search import InvalidSearch, split_terms

CACHE_KEY_PREFIX = "api-response"


def request_fingerprint(request) -> str:
    """What makes two read requests the same: host, path, renderer, parameters.

    Search terms are compared after splitting and normalising, so
    ``?search=War,the`` and ``?search=the war`` share an entry.
    """
    params = []
    for name, values in sorted(request.query_params.lists()):
        for value in values:
            if name == "search":
                # An invalid search is refused by the view; errors are never cached.
                with contextlib.suppress(InvalidSearch):
                    value = " ".join(sorted(split_terms(value)))
            params.append(f"{name}={value}")
    parts = [
        request.scheme,
        request.get_host(),
        request.path.rstrip("/"),
        request.accepted_renderer.format,
        "&".join(params),
    ]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


class CachedReadMixin:
    """ETag/304 for list and detail, and a shared cache of list responses."""

    def list(self, request, *args, **kwargs):
        return self._conditional(request, super().list, args, kwargs, cache_data=True)

    def retrieve(self, request, *args, **kwargs):
        return self._conditional(request, super().retrieve, args, kwargs, cache_data=False)

    def _conditional(self, request, produce, args, kwargs, *, cache_data: bool):
        version = CatalogueVersion.current()
        fingerprint = request_fingerprint(request)
        etag = f'"{version}-{fingerprint}"'
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        key = f"{CACHE_KEY_PREFIX}:{version}:{fingerprint}"
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
