"""A catalogue keeper's day in the admin, in a real browser: log in, add, find, edit, delete."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from catalog.models import Movie
from tests.factories import GenreFactory, MovieFactory, UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

USERNAME = "keeper"
PASSWORD = "a-long-admin-passphrase"


def result_names(page: Page) -> list[str]:
    return page.locator("#result_list tbody th.field-name").all_inner_texts()


def search_movies(page: Page, terms: str) -> None:
    page.fill("#searchbar", terms)
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()


def test_keeper_adds_finds_edits_and_deletes_a_movie(page, live_server, screenshot):
    from playwright.sync_api import expect

    drama, war, crime = (GenreFactory(name=name) for name in ("Drama", "War", "Crime"))
    MovieFactory(
        name="Full Metal Jacket",
        director="Stanley Kubrick",
        popularity=80.0,
        imdb_score=8.3,
        genres=[war],
    )
    MovieFactory(
        name="Dr. Strangelove", director="Stanley Kubrick", popularity=79.0, imdb_score=8.4
    )
    MovieFactory(
        name="The Godfather",
        director="Francis Ford Coppola",
        popularity=92.0,
        imdb_score=9.2,
        genres=[crime, drama],
    )
    UserFactory(superuser=True, username=USERNAME, password=PASSWORD)

    # Log in through the form /admin/ sends an anonymous visitor to.
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    screenshot("login-form")
    page.click("#login-form input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.locator("#user-tools")).to_contain_text(USERNAME)
    expect(page.locator("#content h1")).to_have_text("Site administration")
    screenshot("logged-in")

    # Add a movie, choosing two genres in the two-pane selector.
    page.click("a.addlink[href$='/catalog/movie/add/']")
    expect(page.locator("#content h1")).to_have_text("Add movie")
    page.fill("#id_name", "Paths of Glory")
    page.fill("#id_director", "Stanley Kubrick")
    page.fill("#id_popularity", "86")
    page.fill("#id_imdb_score", "8.4")
    expect(page.locator("#id_genres_from option")).to_have_text(["Crime", "Drama", "War"])
    page.select_option("#id_genres_from", label=["Drama", "War"])
    page.click("#id_genres_add")
    expect(page.locator("#id_genres_to option")).to_have_text(["Drama", "War"])
    expect(page.locator("#id_genres_from option")).to_have_text(["Crime"])
    screenshot("add-form-filled")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text(
        "Paths of Glory (Stanley Kubrick)” was added successfully"
    )
    expect(page.locator("#result_list")).to_contain_text("Paths of Glory")
    screenshot("added")
    movie = Movie.objects.get(name="Paths of Glory")
    assert (movie.director, movie.popularity, movie.imdb_score) == ("Stanley Kubrick", 86.0, 8.4)
    assert sorted(movie.genres.values_list("name", flat=True)) == ["Drama", "War"]

    # Every term must match: a director and a genre.
    search_movies(page, "kubrick, war")
    expect(page.locator("#searchbar")).to_have_value("kubrick, war")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    assert result_names(page) == ["Paths of Glory", "Full Metal Jacket"]
    screenshot("searched")

    # The genre filter in the sidebar narrows the search further.
    page.locator("#changelist-filter").get_by_role("link", name="Drama", exact=True).click()
    expect(page.locator("#changelist-filter li.selected")).to_have_text(["Drama"])
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert result_names(page) == ["Paths of Glory"]
    expect(page.locator("#searchbar")).to_have_value("kubrick, war")
    screenshot("filtered-by-genre")

    # Open it and change its score.
    page.locator("#result_list").get_by_role("link", name="Paths of Glory").click()
    expect(page.locator("#content h1")).to_have_text("Change movie")
    expect(page.locator("#id_imdb_score")).to_have_value("8.4")
    expect(page.locator("#id_genres_to option")).to_have_text(["Drama", "War"])
    page.fill("#id_imdb_score", "8.6")
    screenshot("change-form-edited")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text(
        "Paths of Glory (Stanley Kubrick)” was changed successfully"
    )
    # Saving returns to the list as it was filtered.
    expect(page.locator("#searchbar")).to_have_value("kubrick, war")
    row = page.locator("#result_list tbody tr", has_text="Paths of Glory")
    expect(row.locator("td.field-imdb_score")).to_have_text("8.6")
    screenshot("changed")
    movie.refresh_from_db()
    assert movie.imdb_score == 8.6
    assert sorted(movie.genres.values_list("name", flat=True)) == ["Drama", "War"]

    # Delete it, through the confirmation page.
    page.locator("#result_list").get_by_role("link", name="Paths of Glory").click()
    page.click("a.deletelink")
    expect(page.locator("#content h1")).to_have_text("Delete")
    expect(page.locator("#content")).to_contain_text("Are you sure you want to delete the movie")
    expect(page.locator("#content")).to_contain_text("Paths of Glory (Stanley Kubrick)")
    screenshot("delete-confirmation")
    page.get_by_role("button", name="Yes, I’m sure").click()
    expect(page.locator(".messagelist .success")).to_contain_text(
        "Paths of Glory (Stanley Kubrick)” was deleted successfully"
    )
    screenshot("deleted")
    assert not Movie.objects.filter(name="Paths of Glory").exists()

    # The list is still filtered by Drama; start from the whole catalogue.
    page.goto("/admin/catalog/movie/")
    search_movies(page, "kubrick")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    assert result_names(page) == ["Full Metal Jacket", "Dr. Strangelove"]
    screenshot("gone-from-search")
