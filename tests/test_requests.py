"""Which requests may read from a replica (catalog.web.requests.is_public_read)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import RequestFactory

from catalog.site import urls as site_urls
from catalog.web.requests import is_public_read
from catalog.web.routes import page_routes

factory = RequestFactory()


@pytest.mark.parametrize(
    "path",
    ["/api/movies", "/api/movies/suggest", "/", "/movies/12", "/movies/12/"],
)
def test_an_anonymous_read_of_the_api_or_of_the_site_pages_is_public(path):
    assert is_public_read(factory.get(path))
    assert is_public_read(factory.head(path))


@pytest.mark.parametrize("path", ["/admin/", "/admin/catalog/movie/", "/moviesx", "/healthz"])
def test_the_back_office_and_other_paths_are_not(path):
    assert not is_public_read(factory.get(path))


@pytest.mark.parametrize("path", ["/api/movies", "/", "/movies/12"])
def test_a_request_with_a_session_is_not(path):
    request = factory.get(path)
    request.COOKIES[settings.SESSION_COOKIE_NAME] = "a-session"
    assert not is_public_read(request)


@pytest.mark.parametrize("path", ["/api/movies", "/"])
def test_a_request_that_may_write_is_not(path):
    assert not is_public_read(factory.post(path))


def test_the_site_page_routes_are_routes_of_the_site():
    # A renamed route would leave its page uncached and on the primary.
    assert {route.name for route in site_urls.urlpatterns} == page_routes()
