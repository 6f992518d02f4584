"""The API's side of caching: ETag and 304 in its viewsets, and list data kept for the reads
the response cache does not answer (signed-in clients, the browsable API). The ETag,
the fingerprint and the cache itself are catalog.web.caching's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.utils.mediatypes import _MediaType

from catalog.scopes import ALL
from catalog.web.caching import (
    CACHE_KEY_PREFIX,
    CatalogueRead,
    etag_for,
    keeps,
    request_fingerprint,
    route_of,
    set_cache_headers,
)


def representation(request) -> str:
    """The renderer's format, and the indent asked for in Accept: ``json``, ``json;indent=2``."""
    indent = _MediaType(request.accepted_media_type or "").params.get("indent")
    fmt = request.accepted_renderer.format
    return f"{fmt};indent={indent}" if indent is not None else fmt


if TYPE_CHECKING:
    _ViewSet = viewsets.ModelViewSet
else:
    _ViewSet = object


class CachedReadMixin(_ViewSet):
    """ETag/304 for list and detail, and a shared cache of list responses.

    A view may answer from less than the whole catalogue (catalog.scopes):
    answer_scopes names what its answer may depend on, read before its data,
    and answer_depends_on what this answer does depend on.
    """

    def list(self, request, *args, **kwargs):
        return self._conditional(request, super().list, args, kwargs, cache_data=True)

    def retrieve(self, request, *args, **kwargs):
        return self._conditional(request, super().retrieve, args, kwargs, cache_data=False)

    def answer_scopes(self, request) -> Sequence[str]:
        return [ALL]

    def answer_depends_on(self, request, response) -> Sequence[str]:
        return [ALL]

    def _conditional(self, request, produce, args, kwargs, *, cache_data: bool):
        read = CatalogueRead.of(request)
        read.read_versions(self.answer_scopes(request))
        fingerprint = request_fingerprint(request, representation(request), route_of(request))
        key = f"{CACHE_KEY_PREFIX}:{fingerprint}"
        cache_data = cache_data and not read.bytes_kept
        cached = cache.get(key) if cache_data else None
        if cached is not None and still_current(read, cached[0]):
            read.depend_on(scope for scope, _ in cached[0])
            response = Response(cached[1])
        else:
            response = produce(request, *args, **kwargs)
            if response.status_code != status.HTTP_200_OK:
                return response
            read.depend_on(self.answer_depends_on(request, response))
            if cache_data:
                kept = (read.answered(), response.data)

                def keep(rendered: HttpResponse) -> None:
                    # Kept when its rendering is small enough (the data is smaller).
                    if keeps(rendered.content):
                        cache.set(key, kept, settings.API_CACHE_TIMEOUT)

                response.add_post_render_callback(keep)
        etag = etag_for(read.answer_version(), fingerprint)
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        response["ETag"] = etag
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code in (200, 304):
            signed_in = bool(request.user and request.user.is_authenticated)
            set_cache_headers(response, private=signed_in)
        return response


def still_current(read: CatalogueRead, answered) -> bool:
    """Whether what a kept answer depends on is at the versions it was kept with."""
    read.read_versions(scope for scope, _ in answered)
    return all(read.versions[scope] == version for scope, version in answered)
