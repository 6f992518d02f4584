"""Brute-force protection for the admin login and the token endpoint (django-axes).

Failed logins are counted per client address; past ``LOGIN_FAILURE_LIMIT`` in
a row (a successful login clears the failures against its own account), that
address is locked out of both logins for ``LOGIN_COOLOFF_MINUTES``
after its last failure. The client address is the one the API throttles use,
so ``NUM_PROXIES`` configures both behind a proxy.
"""

from __future__ import annotations

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.throttling import BaseThrottle

from catalog.api.errors import error_body
from catalog.web.requests import is_api_request

LOCKED_OUT = "Too many failed login attempts from this address; try again later."


def client_address(request: HttpRequest) -> str | None:
    # The throttles' reading of the address; it needs only META.
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """429 with Retry-After: JSON in the API's error shape under /api/, plain text elsewhere."""
    cool_off = get_cool_off(request)
    retry_after = str(int(cool_off.total_seconds())) if cool_off else None
    response: HttpResponse
    if is_api_request(request):
        response = JsonResponse(error_body(429, "locked_out", LOCKED_OUT), status=429)
    else:
        response = HttpResponse(LOCKED_OUT, status=429, content_type="text/plain; charset=utf-8")
    if retry_after:
        response["Retry-After"] = retry_after
    return response


@receiver(user_logged_in)
def failures_end_with_a_login(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """A login ends its account's run of failures from that address, and only that one.

    Clearing the address's every failure would let anyone with an account of
    their own guess other accounts' passwords without end, logging in between.
    """
    if request is None:
        return
    AccessAttempt.objects.filter(
        username=user.get_username(), ip_address=client_address(request)
    ).delete()
