import random
import string

import pytest
from prometheus_client import REGISTRY

from operations.metrics import OTHER_METHOD, UNMATCHED_ROUTE
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
