"""Which requests are API requests or the site's pages, and which of them are anonymous reads.

One definition for everything that treats such requests differently: the
back-office middleware that steps aside for them, the response cache that may
answer them (and the site's anonymous page reads), the database router that
may send them (and the site's pages) to a replica, and the error pages that
answer them in JSON.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from catalog.web.routes import PUBLIC_READS

API_PREFIX = "/api/"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHEABLE_METHODS = frozenset({"GET", "HEAD"})


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def is_sessionless_api_request(request: HttpRequest) -> bool:
    """An API request without a session cookie: no session, user or messages to load."""
    return is_api_request(request) and settings.SESSION_COOKIE_NAME not in request.COOKIES


def is_site_page(request: HttpRequest) -> bool:
    """A page of the site (a public read declared a page: catalog.web.routes)."""
    try:
        name = resolve(request.path_info).url_name
    except Resolver404:
        return False
    read = PUBLIC_READS.get(name or "")
    return read is not None and read.page


def is_public_read(request: HttpRequest) -> bool:
    """A read-only request without a session, of the API or of the site's pages: it may
    read from a replica. With a session (staff back from the admin) it reads what
    the session's own writes left on the primary."""
    return (
        request.method in READ_ONLY_METHODS
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and (is_api_request(request) or is_site_page(request))
    )


def is_anonymous_read(request: HttpRequest) -> bool:
    """A GET or HEAD that carries no credentials at all (no session cookie, no Authorization).

    Of the API or of the site's pages: every such client gets the same answer.
    """
    return (
        request.method in CACHEABLE_METHODS
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "Authorization" not in request.headers
    )
