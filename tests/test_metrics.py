import random
import string

import pytest
from prometheus_client import REGISTRY

from operations.metrics import LOCAL_ONLY, OTHER_METHOD, UNMATCHED_ROUTE
from tests.factories import MovieFactory

pytestmark = pytest.mark.django_db


def label_values(name: str) -> set[str]:
    """Every value the app's metrics hold for one label."""
    return {
        sample.labels[name]
        for metric in REGISTRY.collect()
        if metric.name.startswith("movies_")
        for sample in metric.samples
        if name in sample.labels
    }


def made_up(rng: random.Random, alphabet: str) -> str:
    return "".join(rng.choices(alphabet, k=rng.randint(3, 12)))


def test_made_up_methods_and_unknown_paths_add_at_most_one_label_value_each(client):
    rng = random.Random(0)
    methods_before, routes_before = label_values("method"), label_values("route")
    for _ in range(200):
        path = "/" + "/".join(made_up(rng, string.ascii_lowercase) for _ in range(2))
        client.generic(made_up(rng, string.ascii_uppercase), path)
    assert label_values("method") - methods_before <= {OTHER_METHOD}
    assert label_values("route") - routes_before <= {UNMATCHED_ROUTE}


def test_known_methods_keep_their_own_label(client):
    client.options("/api/genres")
    assert "OPTIONS" in label_values("method")


def test_routes_are_labelled_by_their_names_never_their_patterns(client):
    movie = MovieFactory()
    for path in (
        "/api/movies",
        f"/api/movies/{movie.pk}",
        f"/api/movies/{movie.pk}/",
        "/api/movies/suggest?q=mo",
        "/api/schema",
        "/api/schema/",
        "/api/nowhere",
        "/",
        f"/movies/{movie.pk}",
        "/admin/login/",
    ):
        client.get(path)
    routes = label_values("route")
    assert {
        "movie-list",
        "movie-detail",
        "movie-suggest",
        "schema",
        "api-not-found",
        "site-search",
        "site-movie",
        "admin:login",
    } <= routes
    assert not [route for route in routes if not route or set(route) & set("^$?()[]{}<>/")]


def test_without_a_token_only_a_scraper_on_this_machine_reads_the_metrics(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = False, ""
    assert client.get("/metrics").status_code == 200  # from loopback, straight to the app
    for refused in (
        client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1"),  # through a proxy
        client.get("/metrics", HTTP_FORWARDED="for=127.0.0.1"),
        client.get("/metrics", REMOTE_ADDR="203.0.113.7"),  # from another machine
    ):
        assert (refused.status_code, refused.content.decode()) == (403, LOCAL_ONLY)


def test_with_a_token_any_scraper_that_sends_it_reads_the_metrics(client, settings):
    settings.METRICS_TOKEN = "s3cret"
    through_a_proxy = {"HTTP_X_FORWARDED_FOR": "198.51.100.9", "REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/metrics", **through_a_proxy).status_code == 401
    with_token = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret", **through_a_proxy)
    assert with_token.status_code == 200


def test_in_development_the_metrics_are_open(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = True, ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 200
