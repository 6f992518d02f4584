"""Clients are told their budget: RateLimit headers on every throttled answer, Retry-After on
a 429, the numbers each client's own, never replayed from the response cache."""

import time

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from catalog.web.caching import BYTES_KEY_PREFIX, request_fingerprint
from operations.throttling import (
    LIMIT_HEADER,
    RATE_LIMIT_HEADERS,
    REMAINING_HEADER,
    RESET_HEADER,
    RateLimit,
    most_restrictive,
)
from tests.factories import MovieFactory, UserFactory, token_client

pytestmark = pytest.mark.django_db

WINDOW = 60


@pytest.fixture
def rates(monkeypatch):
    """Set throttle rates by scope (``anon="3/minute"``); the others keep theirs."""

    def set_rates(**scopes: str | None) -> None:
        merged = {**api_settings.DEFAULT_THROTTLE_RATES, **scopes}
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", merged)

    return set_rates


def budget(response) -> tuple[int, int, int]:
    return (
        int(response.headers[LIMIT_HEADER]),
        int(response.headers[REMAINING_HEADER]),
        int(response.headers[RESET_HEADER]),
    )


def test_each_request_spends_one_request_of_the_budget(client, rates):
    rates(anon="4/minute")
    answers = [budget(client.get("/api/genres")) for _ in range(4)]
    assert [(limit, remaining) for limit, remaining, _ in answers] == [
        (4, 3),
        (4, 2),
        (4, 1),
        (4, 0),
    ]
    assert all(0 < reset <= WINDOW for _, _, reset in answers)


def test_a_throttled_request_is_told_when_to_retry(client, rates):
    rates(anon="2/minute")
    client.get("/api/genres")
    client.get("/api/genres")
    refused = client.get("/api/genres")
    assert refused.status_code == 429
    limit, remaining, reset = budget(refused)
    assert (limit, remaining) == (2, 0)
    assert 0 < reset <= WINDOW
    assert int(refused.headers["Retry-After"]) == reset


def test_a_client_past_the_limit_waits_for_enough_requests_to_leave_the_window(client, rates):
    # Four requests counted (concurrently, or before the rate was lowered to two): the
    # third newest must leave the window too, 40 s from now, not the oldest alone.
    rates(anon="2/minute")
    now = time.time()
    cache.set("throttle_anon_127.0.0.1", [now - 10, now - 20, now - 30, now - 40], WINDOW)
    refused = client.get("/api/genres")
    assert refused.status_code == 429
    _, remaining, reset = budget(refused)
    assert (remaining, reset) in {(0, 39), (0, 40)}
    assert refused.headers["Retry-After"] == refused.headers[RESET_HEADER]


def test_site_pages_carry_the_budget_they_share_with_the_api(client, three_movies, rates):
    rates(anon="3/minute")
    client.get("/api/genres")
    page = client.get("/?q=heat")
    assert budget(page)[:2] == (3, 1)
    assert budget(client.get(f"/movies/{three_movies.heat.pk}"))[:2] == (3, 0)
    refused = client.get("/?q=heat")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == refused.headers[RESET_HEADER]


def test_a_replayed_answer_carries_each_clients_own_budget(client, rates, monkeypatch):
    rates(anon="10/minute")
    MovieFactory.create_batch(2)
    first = client.get("/api/movies", REMOTE_ADDR="203.0.113.1")
    monkeypatch.setattr(
        "catalog.api.views.MovieViewSet.list", lambda *a, **k: pytest.fail("view ran")
    )
    again = client.get("/api/movies", REMOTE_ADDR="203.0.113.1")
    other = client.get("/api/movies", REMOTE_ADDR="203.0.113.2")
    assert again.content == other.content == first.content
    assert budget(first)[1] == 9
    assert budget(again)[1] == 8
    assert budget(other)[1] == 9


def test_the_response_cache_never_keeps_a_budget(client, rf, rates):
    rates(anon="10/minute")
    MovieFactory()
    client.get("/api/movies")
    fingerprint = request_fingerprint(rf.get("/api/movies"), "json", "movie-list")
    _, _, headers, _ = cache.get(f"{BYTES_KEY_PREFIX}:{fingerprint}")
    assert not set(headers) & set(RATE_LIMIT_HEADERS)


def test_a_not_modified_answer_carries_the_budget(client, rates):
    rates(anon="10/minute")
    first = client.get("/api/genres")
    not_modified = client.get("/api/genres", HTTP_IF_NONE_MATCH=first.headers["ETag"])
    assert not_modified.status_code == 304
    assert budget(not_modified)[:2] == (10, 8)


def test_a_signed_in_client_is_told_the_budget_of_its_account(rates):
    rates(anon="5/minute", user="7/minute")
    response = token_client(UserFactory(staff=True)).get("/api/genres")
    assert budget(response)[:2] == (7, 6)


def test_the_most_restrictive_throttle_is_the_one_told(client, rates):
    # The token endpoint counts against the anonymous rate and its own.
    rates(anon="5/minute", token="2/minute")
    refused_body = client.post("/api/auth/token", {}, content_type="application/json")
    assert refused_body.status_code == 400
    assert budget(refused_body)[:2] == (2, 1)
    assert budget(client.get("/api/genres"))[:2] == (5, 3)


def test_answers_no_throttle_applies_to_carry_no_budget(client, rates):
    # An anonymous request counts against the "user" rate too (per address).
    rates(anon=None, user=None)
    unthrottled = [
        client.get("/api/genres"),
        client.get("/"),
        client.get("/healthz"),
        client.get("/livez"),
        client.get("/api/nowhere"),
    ]
    for response in unthrottled:
        assert not set(response.headers) & {*RATE_LIMIT_HEADERS, "Retry-After"}


def test_browser_clients_may_read_the_budget(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = client.get("/api/genres", HTTP_ORIGIN="https://app.example.com")
    exposed = {name.strip() for name in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed >= {*RATE_LIMIT_HEADERS, "Retry-After"}


def allowed(remaining: int, reset: float) -> RateLimit:
    return RateLimit(limit=10, remaining=remaining, reset=reset, allowed=True)


def refused(reset: float) -> RateLimit:
    return RateLimit(limit=10, remaining=0, reset=reset, allowed=False)


def test_a_refusal_is_more_restrictive_than_any_allowance():
    assert most_restrictive([allowed(0, 50), refused(5)]) == refused(5)


def test_of_refusals_the_longest_wait_is_told():
    assert most_restrictive([refused(5), refused(30)]) == refused(30)


def test_of_allowances_the_fewest_remaining_then_the_later_reset_is_told():
    assert most_restrictive([allowed(5, 10), allowed(2, 3), allowed(2, 8)]) == allowed(2, 8)


def test_reset_is_told_in_whole_seconds_rounded_up():
    assert allowed(1, 0.2).headers()[RESET_HEADER] == "1"
    assert allowed(1, 59.01).headers()[RESET_HEADER] == "60"
