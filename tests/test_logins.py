"""The token endpoint and brute-force protection of the admin login and the token endpoint."""

from urllib.parse import urlencode

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from catalog.api.views import INVALID_CREDENTIALS, NOT_STAFF
from operations.logins import LOCKED_OUT
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
TOKEN_URL = "/api/auth/token"


@pytest.fixture
def curator(db):
    """An editor who logs in with a password."""
    return UserFactory(editor=True, username="curator", password=PASSWORD)


def set_token_rate(monkeypatch, rate: str) -> None:
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "token": rate}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture(autouse=True)
def generous_token_throttle(monkeypatch):
    """The per-address rate of the endpoint is its own test; here it stays out of the way."""
    set_token_rate(monkeypatch, "1000/minute")


def ask_token(client, username="curator", password=PASSWORD, address="203.0.113.7", **headers):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


def admin_login(client, username="curator", password=PASSWORD, address="203.0.113.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_staff_credentials_give_the_accounts_token(curator):
    response = ask_token(APIClient())
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=curator).key == key
    # The same token on the next request, and it writes.
    assert ask_token(APIClient()).json()["token"] == key
    writer = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert writer.post("/api/genres", {"name": "Film-Noir"}, format="json").status_code == 201


# What a page of another site can make its visitors' browsers send without a CORS preflight.
CROSS_SITE_FORM_BODIES = [
    pytest.param(
        urlencode({"username": "curator", "password": "guess"}),
        "application/x-www-form-urlencoded",
        id="form",
    ),
    pytest.param(
        '--b\r\nContent-Disposition: form-data; name="username"\r\n\r\ncurator\r\n'
        '--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nguess\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
        id="multipart",
    ),
    pytest.param('{"username": "curator", "password": "guess"}', "text/plain", id="json-as-text"),
]


@pytest.mark.parametrize(("body", "content_type"), CROSS_SITE_FORM_BODIES)
def test_credentials_are_taken_as_json_only(curator, body, content_type):
    response = APIClient().post(
        TOKEN_URL, body, content_type=content_type, HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not Token.objects.exists()


@pytest.mark.slow
@pytest.mark.parametrize(("body", "content_type"), CROSS_SITE_FORM_BODIES)
def test_cross_site_forms_cannot_lock_a_visitor_out(client, curator, body, content_type):
    api = APIClient()
    for _ in range(10):
        api.post(TOKEN_URL, body, content_type=content_type, REMOTE_ADDR="203.0.113.7")
    # The visitor's own logins, from the same address, still work.
    assert ask_token(APIClient()).status_code == 200
    assert admin_login(client).status_code == 302


def test_wrong_password_is_a_400_that_says_so(curator):
    response = ask_token(APIClient(), password="wrong")
    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": [INVALID_CREDENTIALS]}
    assert not Token.objects.exists()


def test_missing_fields_are_400_per_field(db):
    response = APIClient().post(TOKEN_URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_non_staff_get_no_token(db):
    UserFactory(username="reader", password=PASSWORD)
    response = ask_token(APIClient(), username="reader")
    assert response.status_code == 403
    assert response.json()["detail"] == NOT_STAFF
    assert not Token.objects.exists()


@pytest.mark.slow
def test_token_endpoint_locks_an_address_out_after_five_failures(curator):
    client = APIClient()
    for _ in range(4):
        assert ask_token(client, password="guess").status_code == 400
    assert ask_token(client, password="guess").status_code == 429
    # Locked: even the right password is refused now, with a JSON 429.
    response = ask_token(client)
    assert response.status_code == 429
    assert response.json() == {
        "status": 429,
        "code": "locked_out",
        "detail": LOCKED_OUT,
        "errors": {},
    }
    assert response["Retry-After"] == str(15 * 60)
    assert not Token.objects.exists()
    # Another address is not locked.
    assert ask_token(client, address="198.51.100.2").status_code == 200


@pytest.mark.slow
def test_admin_login_locks_an_address_out_after_five_failures(client, curator):
    for _ in range(4):
        response = admin_login(client, password="guess")
        assert response.status_code == 200  # the form again, with its error
    assert admin_login(client, password="guess").status_code == 429
    response = admin_login(client)
    assert response.status_code == 429
    assert response.content.decode() == LOCKED_OUT
    assert response["Retry-After"] == str(15 * 60)
    assert "_auth_user_id" not in client.session
    assert admin_login(client, address="198.51.100.2").status_code == 302


@pytest.mark.slow
def test_failures_on_either_login_count_together(client, curator):
    for _ in range(3):
        admin_login(client, password="guess")
    for _ in range(2):
        ask_token(APIClient(), password="guess")
    assert admin_login(client).status_code == 429
    assert ask_token(APIClient()).status_code == 429


@pytest.mark.slow
def test_lockout_follows_the_forwarded_address_behind_a_proxy(settings, curator):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = APIClient()
    proxy = "10.0.0.1"
    for _ in range(5):
        ask_token(client, password="guess", address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    locked = ask_token(client, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert locked.status_code == 429
    # Another client behind the same proxy still gets in.
    other = ask_token(client, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other.status_code == 200


def test_token_endpoint_is_rate_limited_per_address(monkeypatch, curator):
    set_token_rate(monkeypatch, "3/minute")
    client = APIClient()
    statuses = [ask_token(client).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = ask_token(client)
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


@pytest.mark.slow
@pytest.mark.parametrize("login", [ask_token, admin_login])
def test_a_successful_login_ends_the_run_of_failures(curator, settings, login):
    settings.AXES_FAILURE_LIMIT = 3
    client = APIClient()
    for _ in range(2):
        login(client, password="wrong")
    assert login(client).status_code in (200, 302)
    for _ in range(2):
        assert login(client, password="wrong").status_code in (200, 400)  # refused, not locked
    assert login(client).status_code in (200, 302)


def test_logging_in_to_ones_own_account_does_not_clear_failures_against_others(curator, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="other", password="another long passphrase", staff=True)
    client = APIClient()
    for _ in range(2):
        ask_token(client, password="wrong")  # against curator
    assert (
        ask_token(client, username="other", password="another long passphrase").status_code == 200
    )
    assert ask_token(client, password="wrong").status_code == 429  # the third in a row
