import pytest

from catalog.models import Movie
from catalog.reads import walking
from catalog.reads.listing import ordering_keys
from catalog.reads.query import COUNT_LIMIT, MAX_OFFSET, ORDERING_FIELDS
from catalog.writes import import_file
from tests.factories import GenreFactory, MovieFactory
from tests.support.legacy import README_SEARCHES
from tests.support.reference import reference_search

pytestmark = pytest.mark.django_db

# The legacy service's README examples, which its clients may still send.
LEGACY_README_QUERIES = ["", *README_SEARCHES]


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content
    return response.json()


def search_param(query: str) -> str:
    params = dict(part.split("=", 1) for part in query.split("&") if part)
    return params.get("search", "")


@pytest.mark.parametrize("query", LEGACY_README_QUERIES)
def test_every_legacy_readme_query_works(client, fixture_catalogue, query):
    body = get(client, f"/api/movies?{query}")
    movies = list(Movie.objects.prefetch_related("genres"))
    expected = reference_search(movies, search_param(query))
    assert body["count"] == len(expected)
    assert {movie["id"] for movie in body["results"]} <= expected
    assert len(body["results"]) == min(len(expected), 10 if "limit=10" in query else 20)


def test_legacy_catalogue_counts(client, seed_path):
    import_file(path=seed_path)
    counts = {
        query: get(client, f"/api/movies?search={query}")["count"]
        for query in ["titanic", "war", "the,war", "titanic,james", "the,john,70,7", "drama,crime"]
    }
    assert counts["drama,crime"] == 23
    assert counts["titanic"] == counts["titanic,james"] == 1
    assert counts["the,john,70,7"] >= 1


def test_movie_has_the_legacy_field_names(client):
    drama = GenreFactory(name="Drama")
    movie = MovieFactory(
        name="Heat", director="Michael Mann", popularity=83.0, imdb_score=8.3, genres=[drama]
    )
    assert get(client, f"/api/movies/{movie.pk}") == {
        "id": movie.pk,
        "name": "Heat",
        "director": "Michael Mann",
        "popularity": 83.0,
        "imdb_score": 8.3,
        "genre": [{"id": drama.pk, "name": "Drama"}],
    }


@pytest.mark.parametrize("path", ["/api/movies", "/api/movies/", "/api/genres", "/api/genres/"])
def test_paths_answer_with_and_without_trailing_slash(client, path):
    assert set(get(client, path)) == {"count", "count_exact", "next", "previous", "results"}


def test_list_is_paginated_by_20_by_default_and_clamped_at_100(client):
    MovieFactory.create_batch(120)
    assert len(get(client, "/api/movies")["results"]) == 20
    assert len(get(client, "/api/movies?limit=1000")["results"]) == 100


def test_pages_follow_each_other_without_overlap(client):
    MovieFactory.create_batch(25, popularity=50.0)
    first = get(client, "/api/movies?limit=10")
    second = get(client, first["next"])
    third = get(client, second["next"])
    ids = [m["id"] for page in (first, second, third) for m in page["results"]]
    assert len(ids) == len(set(ids)) == 25
    assert third["next"] is None


def test_default_order_is_popularity_descending_then_id(client):
    low, high = MovieFactory(popularity=10.0), MovieFactory(popularity=90.0)
    tie_first, tie_second = MovieFactory(popularity=50.0), MovieFactory(popularity=50.0)
    ids = [m["id"] for m in get(client, "/api/movies")["results"]]
    assert ids == [high.pk, tie_second.pk, tie_first.pk, low.pk]


@pytest.mark.parametrize("field", ["name", "popularity", "imdb_score"])
def test_ordering_on_each_field_both_ways(client, field):
    for n in range(5):
        MovieFactory(name=f"M{4 - n}", popularity=10.0 * n, imdb_score=float(n % 3))
    expected = sorted(Movie.objects.all(), key=lambda m: (getattr(m, field), m.pk))
    ascending = [m["id"] for m in get(client, f"/api/movies?ordering={field}")["results"]]
    descending = [m["id"] for m in get(client, f"/api/movies?ordering=-{field}")["results"]]
    assert ascending == [m.pk for m in expected]
    assert descending == ascending[::-1]


@pytest.mark.parametrize(
    ("query", "count_limit", "queries"),
    [
        # catalogue version, the genres the terms match, the matching ids with
        # their popularity (the count, sorted in Python), the page's movies
        # with their genres
        pytest.param("search=movie", COUNT_LIMIT, 4, id="narrow"),
        # catalogue version, the genres the terms match, the matching ids (the
        # count), the page's ids in name order (the database's collation),
        # those movies with their genres
        pytest.param("search=movie&ordering=name", COUNT_LIMIT, 5, id="narrow by name"),
        # catalogue version, the genres the terms match, the first matching
        # ids (count stops there), in relevance order: the names that are the
        # query's words (none), how many names begin with them, those in order
        # (enough for the page; the search's one term is a word, so they all
        # match); those movies with their genres
        pytest.param("search=movie", 5, 7, id="broad"),
        # the same with a filter: which of those names it takes, too
        pytest.param("search=movie&director=some", 5, 8, id="broad and filtered"),
        # the same, by popularity: the entry where the walk's first step ends
        # (then remembered for a while), the page's ids in order instead of the tiers
        pytest.param("search=movie&ordering=-popularity", 5, 6, id="broad by popularity"),
    ],
)
def test_list_queries_do_not_grow_with_page_size(
    client, monkeypatch, django_assert_num_queries, query, count_limit, queries
):
    monkeypatch.setattr("catalog.api.pagination.CatalogPagination.count_limit", count_limit)
    genres = GenreFactory.create_batch(3)
    # More than a page of 100 names beginning with the query's word.
    for _ in range(120):
        MovieFactory(genres=genres)
    for limit in (1, 100):
        walking.forget()
        with django_assert_num_queries(queries):
            body = client.get(f"/api/movies?{query}&limit={limit}").json()
        assert len(body["results"]) == limit


@pytest.mark.parametrize(
    "ordering", [f"{sign}{field}" for field in ORDERING_FIELDS for sign in "-+"]
)
@pytest.mark.parametrize("count_limit", [COUNT_LIMIT, 4])
def test_every_page_of_every_ordering_is_in_the_database_order(
    client, monkeypatch, ordering, count_limit
):
    # Ties on every field, so the order rests on the id as well.
    monkeypatch.setattr("catalog.api.pagination.CatalogPagination.count_limit", count_limit)
    for n in range(11):
        MovieFactory(name=f"M{n % 4}", director=f"D{n}", popularity=n % 3, imdb_score=n % 5 / 2)
    expected = list(
        Movie.objects.order_by(*ordering_keys(ordering.lstrip("+"))).values_list("pk", flat=True)
    )
    url, listed = f"/api/movies?ordering={ordering.lstrip('+')}&limit=3", []
    while url:
        body = get(client, url)
        listed += [movie["id"] for movie in body["results"]]
        url = body["next"]
    assert listed == expected


def test_a_movie_without_genres_is_listed_with_none(client):
    MovieFactory(name="Loner", genres=[])
    assert get(client, "/api/movies?search=loner")["results"][0]["genre"] == []


def test_broad_counts_stop_at_the_limit_and_pages_still_follow(client, monkeypatch):
    monkeypatch.setattr("catalog.api.pagination.CatalogPagination.count_limit", 5)
    MovieFactory.create_batch(6)
    MovieFactory(name="The Only One")
    body = get(client, "/api/movies?limit=3")
    assert (body["count"], body["count_exact"]) == (5, False)
    seen = [m["id"] for m in body["results"]]
    while body["next"]:
        body = get(client, body["next"])
        seen += [m["id"] for m in body["results"]]
    assert sorted(seen) == sorted(Movie.objects.values_list("pk", flat=True))
    assert get(client, "/api/movies?search=only one")["count_exact"] is True
    assert COUNT_LIMIT == 1_000


def test_genres_list_counts_movies(client):
    drama, war = GenreFactory(name="Drama"), GenreFactory(name="War")
    MovieFactory(genres=[drama, war])
    MovieFactory(genres=[drama])
    body = get(client, "/api/genres")
    assert body["results"] == [
        {"id": drama.pk, "name": "Drama", "movie_count": 2},
        {"id": war.pk, "name": "War", "movie_count": 1},
    ]
    assert get(client, f"/api/genres/{war.pk}") == {"id": war.pk, "name": "War", "movie_count": 1}


BAD_PARAMETERS = [
    ("limit=abc", "limit"),
    ("limit=-1", "limit"),
    ("limit=0", "limit"),
    ("limit=1.5", "limit"),
    ("offset=-5", "offset"),
    ("offset=abc", "offset"),
    ("offset=99999999999999", "offset"),
    (f"offset={MAX_OFFSET + 1}", "offset"),
    ("search=" + "x" * 10_000, "search"),
    ("search=" + ",".join("abcdefghijk"), "search"),
    ("ordering=director", "ordering"),
    ("ordering=--name", "ordering"),
    ("ordering=name,id", "ordering"),
    ("highlight=yes", "highlight"),
    ("highlight=2", "highlight"),
    ("search=war&highlight=TRUE", "highlight"),
]


@pytest.mark.parametrize(("query", "parameter"), BAD_PARAMETERS)
def test_bad_parameters_are_a_400_naming_the_parameter(client, query, parameter):
    body = get(client, f"/api/movies?{query}", status=400)
    assert body["status"] == 400
    assert parameter in body["errors"]
    assert body["detail"].startswith(parameter)


@pytest.mark.parametrize(
    "search",
    ["war%00drama", "'", '"', "' OR 1=1 --", "%25", "_", "\\", "%E2%80%8B", "%F0%9F%8E%AC"],
)
def test_hostile_search_text_is_a_well_defined_result(client, search):
    MovieFactory(name="Plain")
    body = get(client, f"/api/movies?search={search}")
    assert body["count"] == 0


def test_a_search_of_only_separators_is_no_search(client):
    MovieFactory.create_batch(2)
    assert get(client, "/api/movies?search=%00,%20%09")["count"] == 2


@pytest.mark.parametrize(
    "path",
    [
        "/api/movies/999999",
        "/api/movies/abc",
        "/api/movies/99999999999999999999999",
        "/api/genres/0",
        "/api/nothing-here",
    ],
)
def test_unknown_resources_are_a_json_404(client, path):
    body = get(client, path, status=404)
    assert (body["status"], body["code"]) == (404, "not_found")


def test_api_requests_skip_sessions_and_messages(client):
    response = client.get("/api/movies")
    assert not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "_messages")
    assert "Set-Cookie" not in response.headers
    admin_response = client.get("/admin/login/")
    assert hasattr(admin_response.wsgi_request, "session")


def test_json_is_compact_for_programs_and_indented_in_the_browsable_api(client):
    MovieFactory(name="Heat")
    compact = client.get("/api/movies")
    assert b"\n" not in compact.content
    indented = client.get("/api/movies", HTTP_ACCEPT="application/json; indent=2")
    assert indented.content.startswith(b'{\n  "count": 1')
    browsable = client.get("/api/movies", HTTP_ACCEPT="text/html").content.decode()
    assert '\n  "count": 1,' in browsable.replace("&quot;", '"')


def test_highlight_gives_each_result_the_ranges_its_search_matched(client):
    MovieFactory(name="Le Fabuleux Destin d'Amélie Poulain", director="Jean-Pierre Jeunet")
    MovieFactory(name="Straße der Jean", director="Someone Else", popularity=1.0)
    body = get(client, "/api/movies?search=amelie,jean&highlight=1")
    assert [movie["highlight"] for movie in body["results"]] == [
        {"name": [[21, 6]], "director": [[0, 4]]},
    ]
    body = get(client, "/api/movies?search=jean,ss&highlight=true")
    (movie,) = body["results"]
    assert movie["highlight"] == {"name": [[4, 1], [11, 4]], "director": []}


def test_highlighted_ranges_index_the_strings_returned(client):
    MovieFactory(name="ﬁsh ß \ufdfa Amélie", director="Émile Zola")
    body = get(client, "/api/movies?search=is,s,ame,mile&highlight=1")
    (movie,) = body["results"]
    pieces = {
        field: [movie[field][start : start + length] for start, length in ranges]
        for field, ranges in movie["highlight"].items()
    }
    assert pieces == {"name": ["ﬁs", "ß", "Amé"], "director": ["mile"]}


def test_without_highlight_a_result_has_no_highlight(client):
    MovieFactory(name="Heat")
    for query in ["search=heat", "search=heat&highlight=0", "search=heat&highlight=false"]:
        (movie,) = get(client, f"/api/movies?{query}")["results"]
        assert "highlight" not in movie, query


def test_highlight_without_a_search_marks_nothing(client):
    MovieFactory(name="Heat")
    (movie,) = get(client, "/api/movies?highlight=1")["results"]
    assert movie["highlight"] == {"name": [], "director": []}


def test_highlight_is_carried_by_the_links_and_keys_its_own_cached_answers(client):
    for number in range(3):
        MovieFactory(name=f"War {number}")
    body = get(client, "/api/movies?search=war&highlight=1&limit=1&utm_source=mail")
    assert "highlight=1" in body["next"]
    assert "highlight" in get(client, body["next"])["results"][0]
    cursor_page = get(client, "/api/movies?search=war&highlight=1&ordering=name&limit=1&cursor=")
    assert "highlight=1" in cursor_page["next"]
    assert "highlight" in get(client, cursor_page["next"])["results"][0]
    # The plain answer, then the highlighted one, each kept in the cache and replayed.
    for _ in range(2):
        assert "highlight" not in get(client, "/api/movies?search=war")["results"][0]
        assert "highlight" in get(client, "/api/movies?search=war&highlight=1")["results"][0]
