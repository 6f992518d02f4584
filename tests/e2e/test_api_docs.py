"""The API's documentation pages in a browser: everything they need comes from the app.

The browser reaches nothing but the live server (tests/e2e/conftest.py aborts every other
request), as on a machine without internet: a page that asks another host for anything,
a font or a script, fails here, and so does one that shows an error in the console.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import is_local
from tests.factories import GenreFactory, MovieFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        pytest.param("/api/docs/", "#operations-movies-movies_list", id="swagger-ui"),
        pytest.param("/api/redoc/", "#operation\\/movies_list", id="redoc"),
    ],
)
def test_a_documentation_page_loads_nothing_from_another_host_and_logs_no_error(
    page, screenshot, path, rendered
):
    from playwright.sync_api import expect

    MovieFactory(name="Paths of Glory", genres=[GenreFactory(name="War")])
    elsewhere: list[str] = []
    errors: list[str] = []
    page.on(
        "request", lambda request: None if is_local(request.url) else elsewhere.append(request.url)
    )
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(path)
    expect(page.locator(rendered)).to_be_attached()
    page.wait_for_load_state("networkidle")
    screenshot("rendered")
    assert elsewhere == []
    assert errors == []
