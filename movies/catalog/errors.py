"""One JSON shape for every error under /api/.

    {"status": 400, "code": "invalid", "detail": "limit: ...", "errors": {"limit": ["..."]}}

``errors`` maps a parameter or field to its messages and is empty when the
error concerns no parameter in particular.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import status as http_status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

NOT_FOUND = "Not found."
SERVER_ERROR = "Internal server error."
UNAVAILABLE = "The catalogue is temporarily unavailable; try again shortly."
RETRY_AFTER_SECONDS = 5


DatabaseUnavailable = (OperationalError, InterfaceError)


def error_body(status: int, code: str, detail: str, errors: dict[str, list[str]] | None = None):
    return {"status": status, "code": code, "detail": detail, "errors": errors or {}}


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(item) for item in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    items = detail if isinstance(detail, list) else [detail]
    return {"non_field_errors": [str(item) for item in items]}


def _summary(errors: dict[str, list[str]]) -> str:
    return "; ".join(
        f"{field}: {' '.join(messages)}" if field != "non_field_errors" else " ".join(messages)
        for field, messages in errors.items()
    )


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    # DRF's own handler turns Django's Http404 and PermissionDenied into these.
    if isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied()
    if isinstance(exc, DatabaseUnavailable):
        # The database is down or unreachable: a retryable 503, not a traceback.
        return Response(
            error_body(503, "unavailable", UNAVAILABLE),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", None)
    if isinstance(exc, ValidationError) or isinstance(detail, dict | list):
        errors = _field_errors(detail)
        code = "invalid" if isinstance(exc, ValidationError) else exc.default_code
        response.data = error_body(response.status_code, code, _summary(errors), errors)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = detail.code if hasattr(detail, "code") else "error"
        response.data = error_body(response.status_code, str(code), str(detail))
    return response


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body(http_status.HTTP_404_NOT_FOUND, "not_found", NOT_FOUND), status=404
    )


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body(http_status.HTTP_500_INTERNAL_SERVER_ERROR, "server_error", SERVER_ERROR),
        status=500,
    )
