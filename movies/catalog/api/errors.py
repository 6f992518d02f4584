"""One JSON shape for every error under /api/.

    {"status": 400, "code": "invalid", "detail": "limit: ...", "errors": {"limit": ["..."]}}

``errors`` maps a parameter or field to its messages and is empty when the
error concerns no parameter in particular.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from psycopg.errors import QueryCanceled
from rest_framework import status as http_status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from catalog import writes
from catalog.reads import InvalidQuery
from catalog.web.errors import RETRY_AFTER_SECONDS, DatabaseUnavailable

NOT_FOUND = "Not found."
BAD_REQUEST = "Bad request."
SERVER_ERROR = "Internal server error."
UNAVAILABLE = "The catalogue is temporarily unavailable; try again shortly."
TOO_SLOW = (
    "The change took longer than a request may (DATABASE_STATEMENT_TIMEOUT) and was undone; "
    "nothing changed."
)
TOO_LARGE = "The request body is too large."

logger = logging.getLogger(__name__)


def error_body(status: int, code: str, detail: str, errors: dict[str, list[str]] | None = None):
    return {"status": status, "code": code, "detail": detail, "errors": errors or {}}


def _messages(detail: Any, prefix: str = "") -> list[str]:
    """Plain messages, however deeply DRF nested them (list items are keyed by index)."""
    if isinstance(detail, dict):
        return [
            message
            for key, value in detail.items()
            for message in _messages(
                value, f"{prefix}Item {key}: " if isinstance(key, int) else f"{prefix}{key}: "
            )
        ]
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item, prefix)]
    return [f"{prefix}{detail}"]


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): _messages(value) for key, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _summary(errors: dict[str, list[str]]) -> str:
    return "; ".join(
        f"{field}: {' '.join(messages)}" if field != "non_field_errors" else " ".join(messages)
        for field, messages in errors.items()
    )


class Conflict(APIException):
    status_code = 409
    default_detail = "The request conflicts with the catalogue."
    default_code = "conflict"


def as_api_error(refused: writes.WriteRefused) -> APIException:
    """The HTTP error of a write the catalogue refused."""
    message = str(refused)
    if isinstance(refused, writes.NotFound):
        return NotFound(message)
    if isinstance(refused, writes.NewGenresRefused):
        return PermissionDenied(message)
    detail = {refused.field: [message]} if refused.field else [message]
    if isinstance(refused, writes.Duplicate):
        return Conflict(detail)
    return ValidationError(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, writes.WriteRefused):
        exc = as_api_error(exc)
    elif isinstance(exc, InvalidQuery):
        exc = ValidationError(exc.errors)
    # DRF's own handler turns Django's Http404 and PermissionDenied into these.
    if isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        # Django refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE; its own answer is an HTML 400.
        return Response(error_body(413, "payload_too_large", TOO_LARGE), status=413)
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, QueryCanceled):
        # A statement ran past DATABASE_STATEMENT_TIMEOUT: retrying would not help.
        logger.warning("Statement cancelled: %s", exc)
        return Response(error_body(503, "timeout", TOO_SLOW), status=503)
    if isinstance(exc, DatabaseUnavailable):
        body, headers = _unavailable(exc)
        return Response(body, status=503, headers=headers)
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", None)
    if isinstance(exc, ValidationError) or isinstance(detail, dict | list):
        errors = _field_errors(detail)
        if isinstance(exc, ValidationError):
            code = "invalid"
        else:
            code = exc.default_code if isinstance(exc, APIException) else "error"
        response.data = error_body(response.status_code, code, _summary(errors), errors)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", "error")
        response.data = error_body(response.status_code, str(code), str(detail))
    return response


def _unavailable(exception: Exception) -> tuple[dict, dict[str, str]]:
    """The database is down or unreachable: a retryable 503, not a traceback."""
    logger.warning("Database unavailable: %s", exception)
    return error_body(503, "unavailable", UNAVAILABLE), {"Retry-After": str(RETRY_AFTER_SECONDS)}


def api_unavailable(exception: Exception) -> JsonResponse:
    """The 503 of api_exception_handler, for code that runs before the API does."""
    body, headers = _unavailable(exception)
    return JsonResponse(body, status=503, headers=headers)


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body(http_status.HTTP_404_NOT_FOUND, "not_found", NOT_FOUND), status=404
    )


def api_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(400, "bad_request", BAD_REQUEST), status=400)


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body(http_status.HTTP_500_INTERNAL_SERVER_ERROR, "server_error", SERVER_ERROR),
        status=500,
    )
