"""The OpenAPI schema is valid, and the API's real answers conform to it."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from rest_framework.throttling import SimpleRateThrottle

from catalog.reads import facets
from tests.factories import GenreFactory, MovieFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def response_schema(schema: dict, path: str, method: str, status: int) -> dict:
    content = schema["paths"][path][method]["responses"][str(status)]["content"]
    return {**content["application/json"]["schema"], "components": schema["components"]}


def assert_conforms(schema, path, method, response):
    validator = OAS30Validator(response_schema(schema, path, method, response.status_code))
    errors = [error.message for error in validator.iter_errors(response.json())]
    assert errors == [], f"{method.upper()} {path} {response.status_code}: {errors}"


def test_schema_is_valid_openapi(schema):
    validate(schema)
    assert {"/api/movies", "/api/movies/{id}", "/api/genres", "/api/genres/{id}"} <= set(
        schema["paths"]
    )


def test_every_list_parameter_is_documented(schema):
    documented = {p["name"] for p in schema["paths"]["/api/movies"]["get"]["parameters"]}
    assert documented >= {
        "search",
        "ordering",
        "limit",
        "offset",
        "genre",
        "genre_any",
        "facets",
        "director",
        "imdb_score_min",
        "imdb_score_max",
        "popularity_min",
        "popularity_max",
        "highlight",
    }


def test_responses_conform_to_the_schema(client, schema):
    movie = MovieFactory(genres=[GenreFactory(name="Drama")])
    cases = [
        ("/api/movies", "/api/movies?search=drama", 200),
        ("/api/movies", "/api/movies?search=drama&highlight=1", 200),
        ("/api/movies", "/api/movies?highlight=maybe", 400),
        ("/api/movies", "/api/movies?search=drama&facets=genre&genre_any=Drama,War", 200),
        ("/api/movies", "/api/movies?facets=year", 400),
        ("/api/movies", "/api/movies?limit=abc", 400),
        ("/api/movies/{id}", f"/api/movies/{movie.pk}", 200),
        ("/api/movies/{id}", "/api/movies/999999", 404),
        ("/api/genres", "/api/genres", 200),
        ("/api/genres/{id}", f"/api/genres/{movie.genres.get().pk}", 200),
    ]
    for path, url, status in cases:
        response = client.get(url)
        assert response.status_code == status
        assert_conforms(schema, path, "get", response)
    anonymous_write = client.post("/api/movies", {}, content_type="application/json")
    assert_conforms(schema, "/api/movies", "post", anonymous_write)


def test_the_facets_are_documented_by_their_serializer(client, schema, monkeypatch):
    listed = schema["components"]["schemas"]["PaginatedMovieResultList"]["properties"]
    assert listed["facets"]["allOf"] == [{"$ref": "#/components/schemas/Facets"}]
    entry = schema["components"]["schemas"]["GenreFacet"]
    assert set(entry["required"]) == {"id", "name", "count", "count_exact"}
    # A count past the bound (lowered here) conforms too.
    monkeypatch.setattr(facets, "FACET_COUNT_LIMIT", 1)
    GenreFactory.create_batch(2)
    MovieFactory.create_batch(2, genres=[GenreFactory(name="Drama")])
    response = client.get("/api/movies?facets=genre")
    assert response.json()["facets"]["genre"][0]["count_exact"] is False
    assert_conforms(schema, "/api/movies", "get", response)


def test_throttled_endpoints_document_the_budget_and_their_429(schema):
    budget = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "429" in responses, f"{method.upper()} {path}"
            for status, response in responses.items():
                assert set(response.get("headers", {})) >= budget, f"{method} {path} {status}"
            assert "Retry-After" in responses["429"]["headers"]


def test_a_throttled_answer_conforms_to_the_schema(client, schema, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1/minute")
    client.get("/api/genres", REMOTE_ADDR="203.0.113.9")
    refused = client.get("/api/genres", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert_conforms(schema, "/api/genres", "get", refused)


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_documentation_pages_load(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert b"/api/schema/" in response.content


class Addresses(HTMLParser):
    """Every address a page's tags name (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_documentation_pages_name_nothing_on_another_host(client, page):
    html = client.get(page).content.decode()
    addresses = Addresses()
    addresses.feed(html)
    assert addresses.found  # the scripts and stylesheets, served by the app
    assert [address for address in addresses.found if urlsplit(address).netloc] == []
    assert re.findall(r"https?://\S+", html) == []  # nor in inline code or styles


@pytest.mark.parametrize("path", ["/api/schema", "/api/docs", "/api/redoc"])
def test_documentation_paths_answer_without_the_trailing_slash(client, path):
    assert client.get(path).status_code == 200
    assert client.get(path + "/").status_code == 200
