"""Which requests are API requests, and which of them are anonymous reads.

One definition for everything that treats such requests differently: the
back-office middleware that steps aside for them, the response cache that may
answer them (and the site's anonymous page reads), the database router that
may send them to a replica, and the error pages that answer them in JSON.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

API_PREFIX = "/api/"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHEABLE_METHODS = frozenset({"GET", "HEAD"})


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def is_sessionless_api_request(request: HttpRequest) -> bool:
    """An API request without a session cookie: no session, user or messages to load."""
    return is_api_request(request) and settings.SESSION_COOKIE_NAME not in request.COOKIES


def is_api_read(request: HttpRequest) -> bool:
    """A read-only API request without a session: it may read from a replica."""
    return request.method in READ_ONLY_METHODS and is_sessionless_api_request(request)


def is_anonymous_read(request: HttpRequest) -> bool:
    """A GET or HEAD that carries no credentials at all (no session cookie, no Authorization).

    Of the API or of the site's pages: every such client gets the same answer.
    """
    return (
        request.method in CACHEABLE_METHODS
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "Authorization" not in request.headers
    )
