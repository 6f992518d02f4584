"""Error pages: JSON under /api/, Django's plain pages elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from catalog import errors
from config.middleware import API_PREFIX

# Django's 400s: a Host not in ALLOWED_HOSTS, other suspicious requests.
BAD_REQUEST = "The request is not valid."


@csrf_exempt
def api_page_not_found(request: HttpRequest) -> HttpResponse:
    return errors.api_not_found(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse(errors.error_body(400, "bad_request", BAD_REQUEST), status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return errors.api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return errors.api_server_error(request)
    return defaults.server_error(request)
