"""The search page in a real browser: suggestions with the keyboard, filters, pages, did you
mean, the same flows without JavaScript, accessibility (axe-core) and screenshots at 1280
and 390 pixels, light and dark."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from catalog.models import Movie

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}
WIDTHS = (1280, 390)
SCHEMES = ("light", "dark")
CARD_TITLES = ".results .card-title a"


def godfather() -> Movie:
    return Movie.objects.get(name="The Godfather")


def search_from_home(page: Page, text: str) -> None:
    page.goto("/")
    page.fill("#home-q", text)
    page.press("#home-q", "Enter")
    page.wait_for_load_state()


def result_names(page: Page) -> list[str]:
    return page.locator(CARD_TITLES).all_inner_texts()


def blocking_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the browser's tools, as an inline script tag would be refused.
        page.evaluate(AXE.read_text())
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{violation['impact']}: {violation['id']} ({violation['help']}) at "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in violations
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def test_typing_suggests_and_the_keyboard_opens_the_highlighted_movie(
    page, fixture_catalogue, screenshot
):
    from playwright.sync_api import expect

    page.goto("/")
    box = page.locator("#home-q")
    expect(box).to_have_attribute("role", "combobox")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("g")
    page.wait_for_timeout(400)  # longer than the pause before asking
    listbox = page.get_by_role("listbox", name="Suggestions")
    expect(listbox).to_be_hidden()  # one character is not enough

    box.press_sequentially("odf", delay=40)
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("The Godfather")
    expect(options.first.locator("mark").first).to_have_text("Godf")
    screenshot("suggested")

    page.keyboard.press("ArrowDown")
    first_id = options.first.get_attribute("id")
    expect(box).to_have_attribute("aria-activedescendant", first_id)
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_be_focused()
    screenshot("highlighted")

    # Escape closes the list; Down opens it again on the first suggestion.
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile(".+"))
    expect(box).to_have_value("godf")
    page.keyboard.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/movies/{godfather().pk}$"))
    expect(page.locator("h1")).to_have_text("The Godfather")
    expect(page).to_have_title("The Godfather (Francis Ford Coppola) – Movie catalogue")
    screenshot("movie-page")


def test_enter_without_a_highlighted_suggestion_runs_the_full_search(
    page, fixture_catalogue, screenshot
):
    from playwright.sync_api import expect

    page.goto("/")
    page.locator("#home-q").press_sequentially("godf", delay=40)
    expect(page.get_by_role("option").first).to_be_visible()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?q=godf$"))
    expect(page.locator("h1")).to_have_text("Results for “godf”")
    assert result_names(page)[:2] == ["The Godfather", "The Godfather Part II"]
    screenshot("results")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_search_add_a_genre_chip_and_go_to_page_two(
    new_page, fixture_catalogue, screenshot, javascript
):
    from playwright.sync_api import expect

    page = new_page(java_script_enabled=javascript)
    search_from_home(page, "drama,crime")
    expect(page.locator("h1")).to_have_text("Results for “drama,crime”")
    expect(page.locator("#result-count")).to_have_text("127 movies · page 1 of 7")
    screenshot("searched", of=page)

    page.locator(".chips").get_by_role("link", name="Thriller (add)").click()
    expect(page).to_have_url(re.compile(r"/\?q=drama%2Ccrime&genre=Thriller$"))
    chosen = page.locator(".chips .chip--on")
    expect(chosen).to_have_count(1)
    expect(chosen).to_contain_text("Thriller")
    first_page = result_names(page)
    assert len(first_page) == 20
    expect(page.locator(".results .card-genres").first).to_contain_text("Thriller")
    screenshot("genre-added", of=page)

    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"/\?q=drama%2Ccrime&genre=Thriller&page=2$"))
    expect(page.locator("#result-count")).to_contain_text("page 2")
    second_page = result_names(page)
    assert second_page
    assert not set(first_page) & set(second_page)
    for genres in page.locator(".results .card-genres").all_inner_texts():
        assert "Thriller" in genres
    expect(page.get_by_role("link", name="Previous page")).to_be_visible()
    screenshot("page-two", of=page)

    # The sort selector, through its button: by name, from page 1 again.
    page.get_by_label("Sort by").select_option("name")
    page.get_by_role("button", name="Sort").click()
    expect(page).to_have_url(re.compile(r"ordering=name"))
    names = result_names(page)
    assert names == sorted(names, key=str.casefold)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_misspelt_title_is_corrected_by_did_you_mean(
    new_page, fixture_catalogue, screenshot, javascript
):
    from playwright.sync_api import expect

    page = new_page(java_script_enabled=javascript)
    search_from_home(page, "the godfahter")
    expect(page.locator("#result-count")).to_have_text("No movies")
    expect(page.locator(".empty h2")).to_have_text("No movies found")
    suggestion = page.locator(".did-you-mean a")
    expect(suggestion).to_have_text("the godfather")
    screenshot("did-you-mean", of=page)
    suggestion.click()
    expect(page).to_have_url(re.compile(r"/\?q=the\+godfather$"))
    assert result_names(page)[0] == "The Godfather"
    page.locator(CARD_TITLES).first.click()
    expect(page.locator("h1")).to_have_text("The Godfather")
    screenshot("movie", of=page)


def test_a_movie_page_leads_to_its_genres_and_neighbours(page, fixture_catalogue, screenshot):
    from playwright.sync_api import expect

    page.goto(f"/movies/{godfather().pk}")
    by_director = page.locator("section[aria-labelledby=by-director]")
    expect(by_director.locator("h2")).to_have_text("More by Francis Ford Coppola")
    expect(by_director.get_by_role("link", name="The Godfather Part II")).to_be_visible()
    expect(page.locator("section[aria-labelledby=similar] .card")).to_have_count(6)
    page.locator(".genre-links").get_by_role("link", name="Crime").click()
    expect(page).to_have_url(re.compile(r"/\?genre=Crime$"))
    expect(page.locator("h1")).to_have_text("Crime movies")
    expect(page.locator(".chips .chip--on")).to_contain_text("Crime")
    screenshot("genre")


def test_unknown_movies_and_bad_parameters_are_pages_of_the_site(page, screenshot):
    from playwright.sync_api import expect

    response = page.goto("/movies/999999")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Movie not found")
    expect(page.locator(".brand")).to_be_visible()
    screenshot("not-found")
    response = page.goto("/?q=war&page=0")
    assert response is not None
    assert response.status == 400
    expect(page.locator(".error")).to_contain_text("The parameter page was refused")
    screenshot("bad-request")


def test_the_three_pages_are_accessible_and_clean_at_both_widths_light_and_dark(
    new_page, fixture_catalogue, screenshot
):
    from playwright.sync_api import expect

    movie = f"/movies/{godfather().pk}"
    pages = {"home": "/", "results": "/?q=drama,crime&genre=Thriller", "movie": movie}
    for scheme in SCHEMES:
        for width in WIDTHS:
            page = new_page(width=width, color_scheme=scheme)
            for name, url in pages.items():
                page.goto(url)
                assert blocking_violations(page) == [], (name, scheme, width)
                # Nothing wider than the window: no sideways scrolling.
                assert page.evaluate("document.documentElement.scrollWidth") <= width, name
                screenshot(f"{name}-{width}-{scheme}", of=page)
            # Suggestions open, one highlighted, checked too.
            page.goto("/")
            page.locator("#home-q").press_sequentially("the godf", delay=30)
            expect(page.get_by_role("option").first).to_be_visible()
            page.keyboard.press("ArrowDown")
            assert blocking_violations(page) == [], ("suggestions", scheme, width)
            screenshot(f"suggestions-{width}-{scheme}", of=page)
            page.context.close()


def test_focus_is_visible_and_the_skip_link_leads_to_the_content(page, fixture_catalogue):
    from playwright.sync_api import expect

    page.goto("/?q=drama,crime")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Movie catalogue")
    outline = focused.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline == "solid"


def test_a_script_injected_into_a_page_does_not_run(new_page, fixture_catalogue):
    page = new_page(refusals_expected=True)
    page.goto("/?q=godfather")
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.body.append(script);
            }"""
        )
    assert page.evaluate("window.injected === undefined")
    # The page's own script still runs: the search box is a combobox.
    assert page.get_attribute("#header-q", "role") == "combobox"
