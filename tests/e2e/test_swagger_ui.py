"""The API documentation works in a browser: Swagger UI renders and runs a request."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings

from tests.factories import GenreFactory, MovieFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_swagger_ui_runs_a_movie_search(page, live_server, screenshot):
    from playwright.sync_api import expect

    drama, war, crime = (GenreFactory(name=name) for name in ("Drama", "War", "Crime"))
    MovieFactory(name="Paths of Glory", popularity=86.0, genres=[drama, war])
    MovieFactory(name="The Godfather", popularity=92.0, genres=[crime, drama])
    MovieFactory(name="Full Metal Jacket", popularity=80.0, genres=[war])

    page.goto("/api/docs/")
    # The browser reaches nothing but the live server, as on a machine without internet.
    assert page.evaluate("typeof SwaggerUIBundle") == "function", (
        "Swagger UI's scripts did not load from "
        f"{settings.SPECTACULAR_SETTINGS.get('SWAGGER_UI_DIST', 'the default CDN')}: "
        "serve them ourselves with drf-spectacular-sidecar"
    )
    operation = page.locator("#operations-movies-movies_list")
    expect(operation).to_be_visible()
    screenshot("docs-rendered")

    operation.locator(".opblock-summary-control").click()
    try_it_out = operation.get_by_role("button", name="Try it out")
    expect(try_it_out).to_be_visible()
    screenshot("operation-expanded")
    try_it_out.click()
    operation.locator("tr[data-param-name='search'] input").fill("drama")
    screenshot("search-filled")
    operation.get_by_role("button", name="Execute").click()

    response = operation.locator(".live-responses-table tbody .response")
    expect(response.locator(".response-col_status")).to_have_text("200")
    expect(operation.locator(".request-url")).to_contain_text(
        re.compile(r"/api/movies\?(.+&)?search=drama(&|$)")
    )
    body = response.locator(".response-col_description .highlight-code code")
    expect(body).to_contain_text('"count"')
    screenshot("response")
    listing = json.loads(body.text_content())
    assert listing["count"] == 2
    assert [movie["name"] for movie in listing["results"]] == ["The Godfather", "Paths of Glory"]
