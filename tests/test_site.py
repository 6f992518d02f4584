"""The public site rendered on the server: what a reader without JavaScript gets."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote_plus, urlencode

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.db import OperationalError
from rest_framework.settings import api_settings

from catalog import writes
from catalog.models import MAX_GENRES, Movie
from catalog.reads import facets
from catalog.reads.query import COUNT_LIMIT, ORDERING_INVALID, TOO_MANY_GENRES
from catalog.search import QUERY_TOO_LONG, TOO_MANY_TERMS
from catalog.site import pages, views
from catalog.site.params import MAX_PAGE, PAGE_INVALID, PAGE_SIZE, PAGE_TOO_DEEP, VERBATIM_INVALID
from catalog.versions import shares_versions
from catalog.writes import import_records
from tests.factories import GenreFactory, MovieFactory, UserFactory, record

pytestmark = pytest.mark.django_db

CARD = re.compile(r'<h3 class="card-title"><a href="/movies/(\d+)">')


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:2000]
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return response.content.decode()


def listed_ids(text: str) -> list[int]:
    return [int(pk) for pk in CARD.findall(text)]


def api_ids(client, **params) -> list[int]:
    body = client.get(f"/api/movies?{urlencode(params)}").json()
    return [movie["id"] for movie in body["results"]]


def links(text: str, rel: str) -> list[str]:
    return [html.unescape(url) for url in re.findall(rf'<a rel="{rel}" href="([^"]+)"', text)]


def godfather() -> Movie:
    return Movie.objects.get(name="The Godfather")


# The home page


def test_the_home_page_is_one_labelled_search_box(client):
    text = page(client, "/")
    assert text.count("<form") == 1
    assert '<form class="search search--home" role="search" action="/" method="get">' in text
    assert '<label class="search-label" for="home-q">Search movies</label>' in text
    assert 'name="q"' in text
    assert 'data-suggest="/api/movies/suggest"' in text
    assert "<title>Movie catalogue</title>" in text
    assert '<meta name="description" content="Search the movie catalogue' in text
    assert "catalog/site.css" in text
    assert "catalog/suggest.js" in text
    assert not listed_ids(text)


def test_a_blank_search_is_the_home_page(client, three_movies):
    assert "Find a movie" in page(client, "/?q=+,+")


def test_the_stylesheet_and_script_are_our_own_static_files(client):
    text = page(client, "/")
    for name in ("catalog/site.css", "catalog/suggest.js", "catalog/icon.svg"):
        assert finders.find(name), name
    # Nothing from another host: no CDN.
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_the_admin_view_site_link_leads_to_the_search_page():
    assert admin.site.site_url == "/"


# Results: the API's list, rendered


@pytest.mark.parametrize(
    ("site", "api"),
    [
        ({"q": "drama,crime"}, {"search": "drama,crime"}),
        ({"q": "drama,crime", "page": 2}, {"search": "drama,crime", "offset": PAGE_SIZE}),
        ({"q": "the godfather"}, {"search": "the godfather"}),
        ({"q": "the", "ordering": "name"}, {"search": "the", "ordering": "name"}),
        ({"q": "war", "genre": "Drama"}, {"search": "war", "genre": "Drama"}),
        ({"genre": "Crime,Drama"}, {"genre": "Crime,Drama"}),
        (
            {"genre": "western", "ordering": "-imdb_score"},
            {"genre": "Western", "ordering": "-imdb_score"},
        ),
    ],
)
def test_results_are_the_api_lists_movies_in_its_order(client, fixture_catalogue, site, api):
    text = page(client, f"/?{urlencode(site)}")
    assert listed_ids(text) == api_ids(client, limit=PAGE_SIZE, **api)
    assert listed_ids(text)


def test_results_say_how_many_movies_match(client, fixture_catalogue):
    text = page(client, "/?q=drama,crime")
    count = client.get("/api/movies?search=drama,crime").json()["count"]
    last = -(-count // PAGE_SIZE)
    assert f'<p class="count" id="result-count">{count} movies · page 1 of {last}</p>' in text
    assert "<h1>Results for “drama,crime”</h1>" in text
    assert "<title>Results for “drama,crime” – Movie catalogue</title>" in text
    assert f'<meta name="description" content="{count} movies match “drama,crime”.">' in text
    one = page(client, "/?q=the+godfather+part")
    assert '<p class="count" id="result-count">1 movie</p>' in one


def test_past_a_thousand_matches_the_count_is_a_lower_bound(client):
    import_records(
        records=[record(name=f"Saga {n}", genre=["Drama"]) for n in range(COUNT_LIMIT + 5)]
    )
    text = page(client, "/?q=saga")
    assert '<p class="count" id="result-count">1,000+ movies</p>' in text
    assert links(text, "next") == ["/?q=saga&page=2"]


def test_previous_and_next_pages_link_to_each_other(client, fixture_catalogue):
    first = page(client, "/?q=drama,crime")
    assert links(first, "prev") == []
    assert links(first, "next") == ["/?q=drama%2Ccrime&page=2"]
    second = page(client, "/?q=drama,crime&page=2")
    assert links(second, "prev") == ["/?q=drama%2Ccrime"]
    assert links(second, "next") == ["/?q=drama%2Ccrime&page=3"]
    assert "<title>Results for “drama,crime”, page 2 – Movie catalogue</title>" in second
    assert '<ol class="results" start="21">' in second
    assert not set(listed_ids(first)) & set(listed_ids(second))
    count = client.get("/api/movies?search=drama,crime").json()["count"]
    last = page(client, f"/?q=drama,crime&page={-(-count // PAGE_SIZE)}")
    assert links(last, "next") == []


def test_a_page_past_the_last_is_a_404_page_leading_to_the_last(client, fixture_catalogue):
    count = client.get("/api/movies?search=drama,crime").json()["count"]
    last = -(-count // PAGE_SIZE)
    assert last > 1
    text = page(client, "/?q=drama,crime&page=99", status=404)
    assert f"<h1>{views.PAST_THE_END}</h1>" in text
    assert views.PAST_THE_END_MESSAGE.format(page=99) in text
    assert (
        f'<a class="error-link" href="/?q=drama%2Ccrime&amp;page={last}">'
        f"Go to the last page, page {last}</a>" in text
    )
    assert "page 98" not in text


def test_a_page_past_the_only_one_leads_to_the_results(client, fixture_catalogue):
    text = page(client, "/?q=godfather&page=99", status=404)
    assert '<a class="error-link" href="/?q=godfather">Go to the results</a>' in text


def test_a_page_past_the_end_of_nothing_leads_to_the_first(client, three_movies):
    text = page(client, "/?q=zzqqxj&page=2", status=404)
    assert '<a class="error-link" href="/?q=zzqqxj">Go to the results</a>' in text


def test_past_a_thousand_matches_a_page_past_the_end_leads_to_the_first(client):
    import_records(
        records=[record(name=f"Saga {n}", genre=["Drama"]) for n in range(COUNT_LIMIT + 5)]
    )
    text = page(client, f"/?q=saga&page={COUNT_LIMIT // PAGE_SIZE + 2}", status=404)
    assert '<a class="error-link" href="/?q=saga">Go to the first page</a>' in text


def test_genre_chips_add_and_remove_a_genre_every_one_of_which_must_match(
    client, fixture_catalogue
):
    text = page(client, "/?q=drama,crime")
    add_thriller = "/?q=drama%2Ccrime&amp;genre=Thriller"
    assert f'<a class="chip" href="{add_thriller}">Thriller' in text
    narrowed = page(client, html.unescape(add_thriller))
    ids = listed_ids(narrowed)
    assert ids == api_ids(client, search="drama,crime", genre="Thriller", limit=PAGE_SIZE)
    for movie in Movie.objects.filter(pk__in=ids).prefetch_related("genres"):
        assert "Thriller" in {genre.name for genre in movie.genres.all()}
    # Chosen, it comes first and takes itself out; another adds to it.
    assert '<a class="chip chip--on" href="/?q=drama%2Ccrime">' in narrowed
    another = re.search(
        r'<a class="chip" href="(/\?q=drama%2Ccrime&amp;genre=Thriller&amp;genre=([^"&]+))">',
        narrowed,
    )
    assert another is not None
    both = page(client, html.unescape(another[1]))
    genres = f"Thriller,{unquote_plus(another[2])}"
    assert listed_ids(both) == api_ids(client, search="drama,crime", genre=genres, limit=PAGE_SIZE)
    assert listed_ids(both)


def test_a_genre_the_catalogue_lacks_is_a_400_page_saying_so(client, three_movies):
    text = page(client, "/?genre=Nonexistent", status=400)
    assert f"<h1>{views.NO_SUCH_GENRE}</h1>" in text
    assert views.NO_SUCH_GENRE_MESSAGE.format(names="“Nonexistent”") in text
    assert "Nonexistent movies" not in text
    assert "error-link" not in text  # nothing is left to search for


def test_a_search_with_a_genre_the_catalogue_lacks_offers_itself_without_it(client, three_movies):
    text = page(client, "/?q=heat&genre=drama&genre=Zydeco+Westerns", status=400)
    assert "The catalogue has no genre named “Zydeco Westerns”." in text
    # The known genre as the catalogue names it.
    assert '<a class="error-link" href="/?q=heat&amp;genre=Drama">Search without it</a>' in text


def test_a_page_naming_unknown_genres_names_each_once(client, three_movies):
    # As long as a name of the catalogue may be, as many as a movie may have.
    asked = [f"{n:03} {'x' * 96}" for n in range(MAX_GENRES)]
    text = page(client, "/?" + urlencode({"q": "heat", "genre": asked}, doseq=True), status=400)
    for name in asked:
        assert text.count(name) == 1
    assert len(text) < 2 * sum(len(name) for name in asked) + 4_000


def test_a_genre_is_named_as_the_catalogue_names_it_whatever_the_case_typed(client, three_movies):
    assert listed_ids(page(client, "/?genre=DRAMA")) == listed_ids(page(client, "/?genre=Drama"))
    text = page(client, "/?genre=drama")
    assert "<h1>Drama movies</h1>" in text
    assert '<a class="chip chip--on" href="/">' in text
    assert '<input type="hidden" name="genre" value="Drama">' in text


def chips_of(text: str) -> tuple[list[str], list[str]]:
    """The genre chips' names: those shown at once, and those behind More genres."""
    found = re.findall(r'<a class="chip[^"]*" href="[^"]+">(?:<span[^>]*>✓ </span>)?([^<]+)', text)
    more = text.split('<details class="more-genres">')[1] if "more-genres" in text else ""
    behind = re.findall(r'<a class="chip[^"]*" href="[^"]+">([^<]+)', more)
    shown = found[: len(found) - len(behind)]
    return [name.strip() for name in shown], [name.strip() for name in behind]


@pytest.fixture
def many_genres(db):
    """Ten genres; "Saga n" movies have the first n + 1 of them, "Other" the last alone."""
    genres = [GenreFactory(name=f"Genre {n}") for n in range(10)]
    for n in range(9):
        MovieFactory(name=f"Saga {n}", director="Someone", genres=genres[: n + 1])
    MovieFactory(name="Other", director="Someone", genres=[genres[9]])
    return genres


def test_chips_offer_the_genres_of_the_results_the_most_first_the_rest_behind_more(
    client, many_genres
):
    text = page(client, "/?q=saga")
    shown, more = chips_of(text)
    # No genre that would leave nothing (Genre 9 is Other's alone), nor one that
    # every result has (Genre 0).
    assert shown == [f"Genre {n}" for n in range(1, pages.SHOWN_CHIPS + 1)]
    assert more == [f"Genre {n}" for n in range(pages.SHOWN_CHIPS + 1, 9)]
    assert "<summary>More genres</summary>" in text
    # Each offered with the movies it leaves.
    assert '<a class="chip" href="/?q=saga&amp;genre=Genre+1">Genre 1 <span' in text
    assert '<span class="chip-count" aria-hidden="true">8</span>' in text
    assert "(add: 8 movies)" in text


def test_chips_count_as_the_list_counts_genres_and_mark_a_lower_bound(
    client, many_genres, monkeypatch
):
    facet = client.get("/api/movies?search=saga&facets=genre").json()["facets"]["genre"]
    counts = {genre["name"]: genre["count"] for genre in facet}
    text = page(client, "/?q=saga")
    for n in range(1, 9):
        assert f"Genre {n} <span" in text
        assert f"(add: {counts[f'Genre {n}']} movie" in text
    # Past the bound (lowered here from 10,000), a count is at least that many.
    monkeypatch.setattr(facets, "FACET_COUNT_LIMIT", 5)
    text = page(client, "/?q=saga&ordering=name")
    assert (
        '<a class="chip" href="/?q=saga&amp;genre=Genre+1&amp;ordering=name">Genre 1 <span' in text
    )
    assert '<span class="chip-count" aria-hidden="true">5+</span>' in text
    assert "(add: 5+ movies)" in text
    # Genre 4 is on five of the sagas: exactly.
    assert "(add: 5 movies)" in text


def test_a_chip_says_a_lower_bound_as_the_count_does():
    assert pages.Chip("Drama", "/", False, 10_000, False).count_text == "10,000+"
    assert pages.Chip("Drama", "/", False, 1_234).count_text == "1,234"
    assert pages.Chip("Drama", "/", True, None).count_text == ""


def test_chips_with_a_chosen_genre_count_what_adding_another_leaves(client, many_genres):
    text = page(client, "/?q=saga&genre=Genre+5")
    # Four sagas have Genre 5; two of them Genre 7 as well.
    assert "(add: 2 movies)" in text
    both = client.get("/api/movies?search=saga&genre=Genre+5,Genre+7").json()
    assert both["count"] == 2


def test_chosen_genres_come_first_and_are_always_shown(client, many_genres):
    chosen = [f"Genre {n}" for n in (7, 2, 1, 0, 3, 4, 5)]
    text = page(client, "/?" + urlencode({"q": "saga", "genre": chosen}, doseq=True))
    shown, more = chips_of(text)
    assert shown == chosen
    # Genre 8 is on one movie of the two left, Genre 6 on both.
    assert more == ["Genre 8"]


def test_no_chips_when_nothing_is_found(client, many_genres):
    text = page(client, "/?q=saga&genre=Genre+8&genre=Genre+9")
    assert "No movies found" in text
    assert 'class="chips"' not in text
    # Each chosen genre can still be taken out.
    assert '<a href="/?q=saga&amp;genre=Genre+9">without Genre 8</a>' in text
    assert '<a href="/?q=saga&amp;genre=Genre+8">without Genre 9</a>' in text


def test_the_sort_selector_keeps_the_search_and_the_genres(client, fixture_catalogue):
    text = page(client, "/?q=the&genre=Drama&ordering=-imdb_score")
    form = re.search(r'<form class="sort".*?</form>', text, flags=re.S).group(0)
    assert '<input type="hidden" name="q" value="the">' in form
    assert '<input type="hidden" name="genre" value="Drama">' in form
    assert '<label for="ordering">Sort by</label>' in form
    assert '<option value="-imdb_score" selected>Highest score</option>' in form
    assert '<option value="relevance">Best match</option>' in form
    # Without a search there is no best match: the most popular come first.
    genres_only = page(client, "/?genre=Drama")
    assert '<option value="-popularity" selected>Most popular</option>' in genres_only
    assert 'value="relevance"' not in genres_only


def test_a_misspelt_search_shows_its_corrections_results_with_the_same_genres(
    client, fixture_catalogue
):
    text = page(client, "/?q=the+godfahter&genre=Crime")
    assert listed_ids(text) == listed_ids(page(client, "/?q=the+godfather&genre=Crime"))
    assert godfather().pk in listed_ids(text)
    assert (
        '<p class="corrected">Showing results for <strong><em>the godfather</em></strong> · '
        'search instead for <a href="/?q=the+godfahter&amp;verbatim=1&amp;genre=Crime">'
        "<em>the godfahter</em></a></p>" in text
    )
    assert "<h1>Results for “the godfather”</h1>" in text
    assert 'value="the godfather"' in text  # in the search box
    # The pages, chips and sort go on with the correction.
    assert '<a class="chip chip--on" href="/?q=the+godfather">' in text


def test_results_mark_where_the_search_matched_names_and_directors(client):
    movie = MovieFactory(name="Destin d'Amélie", director="Jean-Pierre Jeunet")
    text = page(client, "/?q=amelie+jean")
    assert f'<a href="/movies/{movie.pk}">Destin d&#x27;<mark>Amélie</mark></a>' in text
    assert '<p class="card-director"><mark>Jean</mark>-Pierre Jeunet</p>' in text


def test_marked_results_escape_the_text_around_and_inside_the_marks(client):
    MovieFactory(name="<b>Tom & Jerry</b>", director='"Quotes" <i>')
    text = page(client, "/?q=%26+jerry")
    assert "&lt;b&gt;Tom <mark>&amp;</mark> <mark>Jerry</mark>&lt;/b&gt;" in text
    assert '<p class="card-director">&quot;Quotes&quot; &lt;i&gt;</p>' in text
    assert "<b>" not in text
    assert "<i>" not in text


def test_a_ligature_and_a_sharp_s_are_marked_whole(client):
    MovieFactory(name="Die Straße", director="Jean ﬁnch")
    text = page(client, "/?q=strasse+fin")
    assert "Die <mark>Straße</mark>" in text
    assert "Jean <mark>ﬁn</mark>ch" in text


def test_results_of_a_correction_mark_the_corrected_search(client, fixture_catalogue):
    text = page(client, "/?q=the+godfahter&genre=Crime")
    assert "<mark>The</mark> <mark>Godfather</mark></a>" in text
    assert "godfahter</mark>" not in text


def test_genres_alone_and_a_movie_page_mark_nothing(client, fixture_catalogue):
    assert "<mark>" not in page(client, "/?genre=Drama")
    assert "<mark>" not in page(client, f"/movies/{godfather().pk}")


def test_the_wizzard_of_oz_finds_the_wizard_of_oz(client, fixture_catalogue):
    text = page(client, "/?q=the+wizzard+of+oz")
    assert "Showing results for <strong><em>the wizard of oz</em></strong>" in text
    assert 'search instead for <a href="/?q=the+wizzard+of+oz&amp;verbatim=1">' in text
    assert Movie.objects.get(name="The Wizard of Oz").pk in listed_ids(text)


def test_a_search_as_typed_is_not_corrected_and_offers_the_correction(client, fixture_catalogue):
    text = page(client, "/?q=the+godfahter&genre=Crime&verbatim=1")
    assert "No movies found" in text
    assert not listed_ids(text)
    assert "Showing results for" not in text
    assert 'Did you mean <a href="/?q=the+godfather&amp;genre=Crime">the godfather</a>?' in text


def test_a_search_as_typed_stays_so_across_its_controls(client, fixture_catalogue):
    text = page(client, "/?q=drama,crime&verbatim=1")
    assert links(text, "next") == ["/?q=drama%2Ccrime&verbatim=1&page=2"]
    assert '<input type="hidden" name="verbatim" value="1">' in text
    assert 'href="/?q=drama%2Ccrime&amp;verbatim=1&amp;genre=Thriller"' in text


@pytest.mark.parametrize("value", ["yes", "2", "true"])
def test_verbatim_is_1_or_0(client, three_movies, value):
    text = page(client, f"/?q=heat&verbatim={value}", status=400)
    assert f"The parameter <code>verbatim</code> was refused: {VERBATIM_INVALID}" in text
    assert listed_ids(page(client, "/?q=heat&verbatim=0")) == [three_movies.heat.pk]


def test_an_empty_result_helps_without_a_correction(client, fixture_catalogue):
    text = page(client, "/?q=zzqqxj&genre=War")
    assert "No movies found" in text
    assert "Did you mean" not in text
    assert "Take out a genre" in text
    assert '<p class="count" id="result-count">No movies</p>' in text


def test_results_pages_are_not_for_search_engines_but_movies_are(client, fixture_catalogue):
    assert '<meta name="robots" content="noindex, follow">' in page(client, "/?q=heat")
    movie = page(client, f"/movies/{godfather().pk}")
    assert "noindex" not in movie
    assert f'<link rel="canonical" href="/movies/{godfather().pk}">' in movie


def test_a_page_of_results_reads_the_catalogue_in_five_queries(
    client, fixture_catalogue, django_assert_num_queries
):
    # The catalogue version; the genres the terms match; up to 1,001 matches
    # with what ranks them; the page's movies with their genres; the genres of
    # the matches, for the chips.
    with django_assert_num_queries(5):
        client.get("/?q=godfather")


# A movie


def test_a_movie_page_shows_the_movie_and_links_its_genres(client, fixture_catalogue):
    movie = godfather()
    text = page(client, f"/movies/{movie.pk}")
    assert "<h1>The Godfather</h1>" in text
    assert 'Directed by <a href="/?q=Francis+Ford+Coppola">Francis Ford Coppola</a>' in text
    assert "<dd>9.2<" in text
    assert "<dd>95.9<" in text
    assert '<a class="chip" href="/?genre=Crime">Crime</a>' in text
    assert '<a class="chip" href="/?genre=Drama">Drama</a>' in text
    assert "<title>The Godfather (Francis Ford Coppola) – Movie catalogue</title>" in text
    assert (
        '<meta name="description" content="The Godfather, directed by Francis Ford Coppola: '
        'IMDb score 9.2, popularity 95.9; Crime, Drama.">' in text
    )
    # The trailing slash is the same page.
    assert client.get(f"/movies/{movie.pk}/").status_code == 200


def test_a_movie_page_lists_more_by_its_director_and_similar_movies(client, fixture_catalogue):
    movie = godfather()
    text = page(client, f"/movies/{movie.pk}")
    by_director, similar = text.split('id="similar"')
    by_director = listed_ids(by_director.split('id="by-director"')[1])
    expected = Movie.objects.filter(director=movie.director).exclude(pk=movie.pk)
    expected = list(expected.order_by("-popularity", "-id").values_list("pk", flat=True)[:6])
    assert by_director == expected
    assert Movie.objects.get(name="The Godfather Part II").pk in by_director
    # Crime and Drama both, as the API lists them (in the fixture, many), but
    # none of those listed by the director already.
    similar_ids = listed_ids(similar)
    genre_list = api_ids(client, genre="Crime,Drama", ordering="-popularity", limit=20)
    listed = {movie.pk, *by_director}
    assert similar_ids == [pk for pk in genre_list if pk not in listed][:6]
    assert 'href="/?genre=Crime&amp;genre=Drama">Every movie in Crime, Drama</a>' in text


def test_similar_movies_share_the_most_genres_then_are_the_most_popular(client):
    crime, drama, war = (GenreFactory(name=name) for name in ("Crime", "Drama", "War"))
    movie = MovieFactory(
        name="Heat", director="Michael Mann", popularity=10, genres=[crime, drama]
    )
    both = MovieFactory(name="Both", popularity=50, genres=[crime, drama, war])
    crime_only = MovieFactory(name="Crime only", popularity=90, genres=[crime])
    drama_war = MovieFactory(name="Drama and war", popularity=95, genres=[drama, war])
    MovieFactory(name="War only", popularity=99, genres=[war])
    MovieFactory(name="No genre", popularity=100)
    similar = page(client, f"/movies/{movie.pk}").split('id="similar"')[1]
    assert listed_ids(similar) == [both.pk, drama_war.pk, crime_only.pk]


def test_a_movie_by_the_director_is_not_listed_again_as_similar(client):
    crime = GenreFactory(name="Crime")
    movie = MovieFactory(name="Heat", director="Michael Mann", genres=[crime])
    collateral = MovieFactory(name="Collateral", director="Michael Mann", genres=[crime])
    other = MovieFactory(name="Ronin", director="John Frankenheimer", genres=[crime])
    text = page(client, f"/movies/{movie.pk}")
    by_director, similar = text.split('id="similar"')
    assert listed_ids(by_director) == [collateral.pk]
    assert listed_ids(similar) == [other.pk]


def test_popularity_and_scores_have_one_decimal_everywhere(client):
    movie = MovieFactory(name="Heat", director="Michael Mann", popularity=96, imdb_score=8)
    MovieFactory(name="Heat Wave", director="Michael Mann", popularity=80.25, imdb_score=7)
    text = page(client, f"/movies/{movie.pk}")
    assert "<dd>96.0<" in text
    assert "<dd>8.0<" in text
    assert "IMDb score 8.0, popularity 96.0" in text
    assert "Popularity 80.2<" in text or "Popularity 80.3<" in text
    results = page(client, "/?q=heat")
    assert "Popularity 96.0<" in results
    assert "★ 8.0<" in results


def test_a_director_is_matched_exactly_not_as_part_of_a_name(client):
    ford = MovieFactory(name="Stagecoach", director="John Ford", popularity=80)
    MovieFactory(name="The Searchers", director="John Ford", popularity=79)
    MovieFactory(name="Elsewhere", director="John Fordham", popularity=90)
    text = page(client, f"/movies/{ford.pk}")
    by_director = text.split('id="by-director"')[1].split('id="similar"')[0]
    assert "The Searchers" in by_director
    assert "Elsewhere" not in by_director


def test_a_movie_without_other_movies_or_genres_says_so(client):
    alone = MovieFactory(name="Alone", director="Nobody Else")
    text = page(client, f"/movies/{alone.pk}")
    assert "No other movie by Nobody Else in the catalogue." in text
    assert "This movie has no genre to compare by." in text
    lonely = MovieFactory(name="Lonely", director="Someone", genres=[GenreFactory(name="Rare")])
    assert "No other movie shares its genres." in page(client, f"/movies/{lonely.pk}")


# Errors


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ({"q": "x" * 201}, "q", QUERY_TOO_LONG),
        ({"q": " ".join("abcdefghijk")}, "q", TOO_MANY_TERMS),
        ({"q": "war", "ordering": "year"}, "ordering", ORDERING_INVALID),
        ({"q": "war", "page": "0"}, "page", PAGE_INVALID),
        ({"q": "war", "page": "two"}, "page", PAGE_INVALID),
        ({"q": "war", "page": str(MAX_PAGE + 1)}, "page", PAGE_TOO_DEEP),
        ({"q": "war", "genre": "Dr\x00ama"}, "genre", "Null characters are not allowed."),
        ({"genre": ",".join(map(str, range(MAX_GENRES + 1)))}, "genre", TOO_MANY_GENRES),
        ({"genre": ",".join(map(str, range(1000)))}, "genre", TOO_MANY_GENRES),
    ],
)
def test_a_bad_parameter_is_a_friendly_400_page_naming_it(
    client, three_movies, query, parameter, message
):
    response = client.get(f"/?{urlencode(query)}")
    assert response.status_code == 400
    text = response.content.decode()
    assert f"The parameter <code>{parameter}</code> was refused: {html.escape(message)}" in text
    assert '<link rel="stylesheet" href="/static/catalog/site.css">' in text
    assert "ETag" not in response.headers
    assert "public" not in response.headers.get("Cache-Control", "")


def test_the_deepest_page_the_api_serves_is_not_refused(client, three_movies):
    # Past the end of a short list: not found, rather than refused as too deep.
    assert client.get(f"/?q=heat&page={MAX_PAGE}").status_code == 404


@pytest.mark.parametrize(
    "url", ["/movies/999999", "/movies/0", "/movies/1234567890123456789", "/movies/abc", "/films"]
)
def test_unknown_movies_and_pages_are_a_404_page_of_the_site(client, url):
    text = page(client, url, status=404)
    assert '<a class="brand" href="/">Movie catalogue</a>' in text
    assert "not found" in text


def test_an_unknown_movie_says_what_was_not_found(client):
    text = page(client, "/movies/999999", status=404)
    assert f"<h1>{views.MOVIE_NOT_FOUND}</h1>" in text
    assert views.MOVIE_NOT_FOUND_MESSAGE in text


def test_a_failure_is_a_500_page_of_the_site_without_a_traceback(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("catalog.site.views.search_results", explode)
    client.raise_request_exception = False
    response = client.get("/?q=war")
    assert response.status_code == 500
    text = response.content.decode()
    assert views.SERVER_ERROR in text
    assert "secret internals" not in text
    assert '<link rel="stylesheet" href="/static/catalog/site.css">' in text
    assert response.headers["Content-Security-Policy"] == views.CONTENT_SECURITY_POLICY


def test_the_database_out_of_reach_is_a_503_page(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("catalog.models.CatalogueVersion.current", refuse)
    response = client.get("/?q=war")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert views.UNAVAILABLE in response.content.decode()
    assert b"connect" not in response.content
    assert response.headers["Content-Security-Policy"] == views.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/", 200),
        ("/?q=heat", 200),
        ("/movies/{heat}", 200),
        ("/?q=heat&page=two", 400),
        ("/movies/999999", 404),
        ("/films", 404),
    ],
)
def test_the_site_runs_no_code_and_loads_no_file_but_its_own(client, three_movies, url, status):
    response = client.get(url.format(heat=three_movies.heat.pk))
    assert response.status_code == status
    policy = response.headers["Content-Security-Policy"]
    assert policy == views.CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()


def test_only_reads_are_allowed(client):
    assert client.post("/?q=war").status_code == 405
    assert client.head("/").status_code == 200


# Caching and throttling, as the API's reads


def test_pages_carry_an_etag_and_answer_304(client, fixture_catalogue):
    for url in ("/", "/?q=drama,crime&page=2", f"/movies/{godfather().pk}"):
        first = client.get(url)
        assert first.headers["Cache-Control"] == "public, max-age=30"
        again = client.get(url, HTTP_IF_NONE_MATCH=first.headers["ETag"])
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["ETag"] == first.headers["ETag"]


def test_a_repeated_anonymous_page_is_replayed_from_the_cache(
    client, three_movies, monkeypatch, django_assert_num_queries
):
    first = client.get("/?q=heat", HTTP_ACCEPT="text/html,application/xhtml+xml")
    monkeypatch.setattr(
        "catalog.site.views.search_results", lambda *a, **k: pytest.fail("view ran")
    )
    # With Redis the published version comes with the bytes; else it is read.
    with django_assert_num_queries(0 if shares_versions() else 1):
        again = client.get("/?q=heat", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert again.content == first.content
    for header in (
        "Content-Type",
        "ETag",
        "Cache-Control",
        "Vary",
        "X-Frame-Options",
        "Content-Security-Policy",
    ):
        assert again.headers[header] == first.headers[header]


def test_every_write_invalidates_cached_pages(client, three_movies):
    before = client.get("/?q=heat")
    movie = client.get(f"/movies/{three_movies.heat.pk}")
    writes.update_movie(three_movies.heat.pk, name="Heat Wave")
    after = client.get("/?q=heat", HTTP_IF_NONE_MATCH=before.headers["ETag"])
    assert after.status_code == 200
    assert "<mark>Heat</mark> Wave" in after.content.decode()
    again = client.get(f"/movies/{three_movies.heat.pk}", HTTP_IF_NONE_MATCH=movie["ETag"])
    assert again.status_code == 200
    assert "<h1>Heat Wave</h1>" in again.content.decode()
    writes.create_movie(
        name="Heat Noir", director="Someone", popularity=1, imdb_score=1, genres=["Noir"]
    )
    assert "Noir" in client.get("/?q=heat").content.decode()


def test_a_signed_in_reader_gets_a_private_page(client, three_movies):
    client.force_login(UserFactory(staff=True))
    response = client.get("/?q=heat")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_readers_are_throttled_with_a_429_page(client, three_movies, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "anon", "3/minute")
    monkeypatch.setattr(
        "rest_framework.throttling.AnonRateThrottle.THROTTLE_RATES",
        api_settings.DEFAULT_THROTTLE_RATES,
    )
    # The first answer is rendered, the next two replayed from the cache.
    statuses = [client.get("/?q=heat").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(f"/movies/{three_movies.heat.pk}")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert views.THROTTLED in response.content.decode()
    assert response.headers["Content-Security-Policy"] == views.CONTENT_SECURITY_POLICY
