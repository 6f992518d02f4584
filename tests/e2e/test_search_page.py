"""The search page in a real browser: suggestions with the keyboard, filters, pages,
corrected searches, the same flows without JavaScript, accessibility (axe-core) and
screenshots at 1280 and 390 pixels, light and dark."""

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

    page.locator(".chips").get_by_role("link", name=re.compile(r"^Thriller \(add")).click()
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

    # The sort selector: by name, from page 1 again; with JavaScript as soon as it is
    # chosen (the button hidden), without through its button.
    sort = page.get_by_role("button", name="Sort")
    if javascript:
        expect(sort).to_be_hidden()
        with page.expect_navigation():
            page.get_by_label("Sort by").select_option("name")
    else:
        page.get_by_label("Sort by").select_option("name")
        page.wait_for_timeout(300)
        expect(page).not_to_have_url(re.compile(r"ordering=name"))
        sort.click()
    expect(page).to_have_url(re.compile(r"/\?q=drama%2Ccrime&genre=Thriller&ordering=name$"))
    expect(page.get_by_label("Sort by")).to_have_value("name")
    names = result_names(page)
    assert names == sorted(names, key=str.casefold)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_misspelt_title_shows_the_corrected_results(
    new_page, fixture_catalogue, screenshot, javascript
):
    from playwright.sync_api import expect

    page = new_page(java_script_enabled=javascript)
    search_from_home(page, "the wizzard of oz")
    corrected = page.locator(".corrected")
    expect(corrected).to_have_text(
        "Showing results for the wizard of oz · search instead for the wizzard of oz"
    )
    expect(page.locator("h1")).to_have_text("Results for “the wizard of oz”")
    assert result_names(page)[0] == "The Wizard of Oz"
    screenshot("corrected", of=page)

    # The search as typed, not corrected again: nothing, and the correction offered.
    corrected.get_by_role("link", name="the wizzard of oz").click()
    expect(page).to_have_url(re.compile(r"/\?q=the\+wizzard\+of\+oz&verbatim=1$"))
    expect(page.locator("#result-count")).to_have_text("No movies")
    expect(page.locator(".empty h2")).to_have_text("No movies found")
    expect(page.locator(".chips")).to_have_count(0)
    suggestion = page.locator(".did-you-mean a")
    expect(suggestion).to_have_text("the wizard of oz")
    screenshot("as-typed", of=page)
    suggestion.click()
    expect(page).to_have_url(re.compile(r"/\?q=the\+wizard\+of\+oz$"))
    page.locator(CARD_TITLES).first.click()
    expect(page.locator("h1")).to_have_text("The Wizard of Oz")
    screenshot("movie", of=page)


def test_a_movie_page_leads_to_its_genres_and_neighbours(page, fixture_catalogue, screenshot):
    from playwright.sync_api import expect

    page.goto(f"/movies/{godfather().pk}")
    by_director = page.locator("section[aria-labelledby=by-director]")
    expect(by_director.locator("h2")).to_have_text("More by Francis Ford Coppola")
    expect(by_director.get_by_role("link", name="The Godfather Part II")).to_be_visible()
    similar = page.locator("section[aria-labelledby=similar]")
    expect(similar.locator(".card")).to_have_count(6)
    # No film in both lists.
    by_director_names = set(by_director.locator(".card-title").all_inner_texts())
    assert not by_director_names & set(similar.locator(".card-title").all_inner_texts())
    page.locator(".genre-links").get_by_role("link", name="Crime").click()
    expect(page).to_have_url(re.compile(r"/\?genre=Crime$"))
    expect(page.locator("h1")).to_have_text("Crime movies")
    expect(page.locator(".chips .chip--on")).to_contain_text("Crime")
    screenshot("genre")

    page.go_back()
    page.locator(".movie-director").get_by_role("link", name="Francis Ford Coppola").click()
    expect(page).to_have_url(re.compile(r"/\?q=Francis\+Ford\+Coppola$"))
    assert "The Godfather" in result_names(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_few_genre_chips_first_the_rest_behind_more_genres(
    new_page, fixture_catalogue, screenshot, width
):
    from playwright.sync_api import expect

    page = new_page(width=width)
    page.goto("/?q=drama,crime")
    chips = page.locator(".chips > ul .chip")
    expect(chips).to_have_count(6)
    more = page.locator(".more-genres")
    expect(more.locator(".chip").first).to_be_hidden()
    # On a phone too, the first result is within the first screen.
    first = page.locator(".results .card").first.bounding_box()
    assert first is not None
    assert first["y"] < 560, first
    screenshot(f"chips-{width}", of=page)
    more.locator("summary").click()
    expect(more.locator(".chip").first).to_be_visible()
    assert blocking_violations(page) == [], width
    # Every genre offered leaves some movies, not all, the most first.
    total = int(page.locator("#result-count").inner_text().split()[0])
    counts = [int(text) for text in page.locator(".chips .chip-count").all_inner_texts()]
    assert len(counts) == page.locator(".chips .chip").count()
    assert all(0 < count < total for count in counts)
    assert counts == sorted(counts, reverse=True)
    screenshot(f"more-genres-{width}", of=page)


def test_no_chips_when_nothing_is_found(new_page, fixture_catalogue):
    from playwright.sync_api import expect

    page = new_page(width=390)
    page.goto("/?q=zzqqxj")
    expect(page.locator(".empty h2")).to_have_text("No movies found")
    expect(page.locator(".chips")).to_have_count(0)
    assert blocking_violations(page) == []


def test_every_suggestion_is_shown_whole(new_page, fixture_catalogue, screenshot):
    from playwright.sync_api import expect

    for width in WIDTHS:
        page = new_page(width=width)
        page.goto("/")
        page.locator("#home-q").press_sequentially("the", delay=40)
        options = page.get_by_role("option")
        expect(options).to_have_count(8)
        page.wait_for_load_state("networkidle")  # the answer for "the", not for "th"
        listbox = page.get_by_role("listbox", name="Suggestions")
        box = listbox.bounding_box()
        assert box is not None
        # Nothing clipped: the list scrolls nothing, each entry lies inside it.
        assert listbox.evaluate("list => list.scrollHeight <= list.clientHeight + 1")
        for option in options.all():
            entry = option.bounding_box()
            assert entry is not None, width
            assert entry["y"] + entry["height"] <= box["y"] + box["height"] + 1
        screenshot(f"suggestions-{width}", of=page)
        page.context.close()


def test_past_the_last_page_and_an_unknown_genre_are_pages_that_say_so(page, fixture_catalogue):
    from playwright.sync_api import expect

    response = page.goto("/?q=drama,crime&page=99")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("No such page of results")
    page.get_by_role("link", name="Go to the last page, page 7").click()
    expect(page).to_have_url(re.compile(r"/\?q=drama%2Ccrime&page=7$"))
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.goto("/?q=godfather&page=99")
    page.get_by_role("link", name="Go to the results").click()
    expect(page.locator(".results .card").first).to_be_visible()
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)

    response = page.goto("/?genre=Nonexistent")
    assert response is not None
    assert response.status == 400
    expect(page.locator("h1")).to_have_text("No such genre")
    expect(page.locator(".error")).to_contain_text("no genre named “Nonexistent”")


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
    pages = {
        "home": "/",
        "results": "/?q=drama,crime&genre=Thriller",
        "corrected": "/?q=the+wizzard+of+oz",
        "movie": movie,
    }
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
