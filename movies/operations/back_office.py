"""Middleware that only back-office requests pay for.

Anonymous API clients never use sessions, ``request.user`` or messages, so
those middleware step aside for a request under ``/api/`` that carries no
session cookie. A request with a session cookie (a signed-in admin using the
browsable API) gets the full stack, so session authentication keeps working.
They stay subclasses of Django's own classes, so the admin's system checks
still recognise them.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.deprecation import MiddlewareMixin

from catalog.web.requests import is_sessionless_api_request


class BackOfficeOnlyMixin(MiddlewareMixin):
    sync_capable = True
    async_capable = False

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_sessionless_api_request(request):
            return self.get_response(request)  # type: ignore[return-value]
        return super().__call__(request)  # type: ignore[return-value]


class BackOfficeSessionMiddleware(BackOfficeOnlyMixin, SessionMiddleware):
    pass


class BackOfficeAuthenticationMiddleware(BackOfficeOnlyMixin, AuthenticationMiddleware):
    pass


class BackOfficeMessageMiddleware(BackOfficeOnlyMixin, MessageMiddleware):
    pass


class PrivateCookiesMiddleware:
    """A response that sets a cookie is its client's alone: ``Cache-Control: private``.

    Sessions and CSRF set their cookies on the way out, on responses that may
    say nothing of caching (Swagger UI's page sets the CSRF cookie its "try
    it out" form needs) or that were public before a cookie was added (the
    browsable API). A shared cache keeping such a response would hand one
    client's cookie to every other; a private one keeps it for its client.
    Outside every middleware that sets a cookie.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.cookies:
            # private takes the place of public, if the response said that.
            patch_cache_control(response, private=True, no_cache=True)
        return response
