"""Error pages: JSON under /api/, Django's plain pages elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from catalog.api import errors
from catalog.api.requests import is_api_request


@csrf_exempt
def api_page_not_found(request: HttpRequest) -> HttpResponse:
    return errors.api_not_found(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return errors.api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # A Host outside ALLOWED_HOSTS, among others: refused before any view runs.
    if is_api_request(request):
        return errors.api_bad_request(request, exception)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return errors.api_server_error(request)
    return defaults.server_error(request)
