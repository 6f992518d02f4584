"""Error pages: JSON under /api/, the site's pages elsewhere (catalog.site.views)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from catalog.api import errors
from catalog.site import views as site
from catalog.web.requests import is_api_request

logger = logging.getLogger(__name__)


@csrf_exempt
def api_page_not_found(request: HttpRequest) -> HttpResponse:
    return errors.api_not_found(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return errors.api_not_found(request, exception)
    return site.not_found(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # A Host outside ALLOWED_HOSTS, among others: refused before any view runs.
    if is_api_request(request):
        return errors.api_bad_request(request, exception)
    return site.bad_request(request)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return errors.api_server_error(request)
    try:
        return site.server_error()
    except Exception:
        # The site's page could not be made either: Django's plain one.
        logger.exception("The server error page failed")
        return defaults.server_error(request)
