import json
import socket
import time
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.db.models import F

from catalog import writes
from catalog.models import CatalogueVersion, Movie
from catalog.versions import (
    VERSION_HINT_KEY,
    VERSION_HINT_TTL_MS,
    publish_version,
    shares_versions,
)
from catalog.web.caching import BYTES_KEY_PREFIX, CACHE_KEY_PREFIX
from catalog.writes import import_records
from tests.factories import GenreFactory, MovieFactory, UserFactory, record, token_client
from tests.support.reference import reference_search

pytestmark = pytest.mark.django_db


def redis_available() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_list_and_detail_carry_an_etag_and_answer_304(client):
    movie = MovieFactory()
    for url in ("/api/movies?search=movie", f"/api/movies/{movie.pk}", "/api/genres"):
        first = client.get(url)
        etag = first.headers["ETag"]
        again = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["ETag"] == etag


def test_anonymous_reads_are_publicly_cacheable(client, settings):
    settings.API_CACHE_MAX_AGE = 42
    response = client.get("/api/movies")
    assert response.headers["Cache-Control"] == "public, max-age=42"
    assert "Authorization" in response.headers["Vary"]


def test_a_repeated_list_is_served_from_the_cache(client, django_assert_num_queries):
    MovieFactory.create_batch(3, genres=[GenreFactory()])
    first = client.get("/api/movies?search=War,movie").json()
    # With Redis, the published catalogue version comes with the bytes in one
    # round trip; with a per-process cache, the version is read from the database.
    with django_assert_num_queries(0 if shares_versions() else 1):
        second = client.get("/api/movies?search=war%20%20MOVIE").json()
    assert first == second


@pytest.mark.parametrize("write", ["movie", "genre", "importer", "command", "api"])
def test_every_write_path_invalidates_cached_lists_and_etags(client, write, tmp_path):
    movie = MovieFactory(name="Alpha")
    before = client.get("/api/movies")
    if write == "movie":
        writes.update_movie(movie.pk, name="Beta")
    elif write == "genre":
        writes.update_movie(movie.pk, genres=[GenreFactory(name="Beta").name])
    elif write == "importer":
        import_records(records=[record(name="Beta")])
    elif write == "command":
        path = tmp_path / "c.json"
        path.write_text(__import__("json").dumps([record(name="Beta")]))
        call_command("populate_db", str(path), stdout=StringIO())
    else:
        editor = token_client(UserFactory(editor=True))
        editor.patch(f"/api/movies/{movie.pk}", {"name": "Beta"}, format="json")
    after = client.get("/api/movies", HTTP_IF_NONE_MATCH=before.headers["ETag"])
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "Beta" in after.content.decode()


def test_an_unchanged_reimport_keeps_caches(client):
    import_records(records=[record()])
    etag = client.get("/api/movies").headers["ETag"]
    import_records(records=[record()])
    assert client.get("/api/movies", HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.fixture
def redis_cache(settings):
    """The real Redis as the cache, as in production; a database of its own."""
    if not redis_available():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": "movies-test",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
    }
    from django.core.cache import cache

    cache.clear()
    yield cache
    cache.clear()


def test_responses_are_cached_in_redis_when_configured(client, redis_cache):
    cache = redis_cache
    MovieFactory(name="Cached")
    # Anonymous JSON: the rendered bytes, under the version they go with.
    client.get("/api/movies")
    [key] = cache.keys(f"{BYTES_KEY_PREFIX}:*")
    answered, body, _, seen = cache.get(key)
    assert answered == (("all", CatalogueVersion.current()),)
    assert seen == CatalogueVersion.current()
    assert json.loads(body)["results"][0]["name"] == "Cached"
    assert cache.keys(f"{CACHE_KEY_PREFIX}:*") == []
    # The browsable API: the page's data.
    client.get("/api/movies", HTTP_ACCEPT="text/html")
    [key] = cache.keys(f"{CACHE_KEY_PREFIX}:*")
    answered, data = cache.get(key)
    assert data["results"][0]["name"] == "Cached"


def test_redis_going_away_degrades_to_no_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.1},
        }
    }
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    MovieFactory()
    response = client.get("/api/movies")
    assert response.status_code == 200
    assert response.json()["count"] == Movie.objects.count()
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["checks"] == {"database": "ok", "redis": "unavailable"}


def test_a_repeated_anonymous_read_is_replayed_byte_for_byte(client, monkeypatch):
    MovieFactory.create_batch(3)
    first = client.get("/api/movies?search=movie")
    # The view is not run again: the middleware answers from the cache.
    monkeypatch.setattr(
        "catalog.api.views.MovieViewSet.list", lambda *a, **k: pytest.fail("view ran")
    )
    again = client.get("/api/movies?search=movie")
    assert again.content == first.content
    for header in ("Content-Type", "ETag", "Cache-Control", "Vary", "Allow"):
        assert again.headers[header] == first.headers[header]
    head = client.head("/api/movies?search=movie")
    assert (head.status_code, head.content) == (200, b"")


def test_a_replayed_answer_is_only_ever_the_same_urls(client):
    MovieFactory(name="One")
    for _ in range(2):  # the second time from the cache
        assert client.get("/api/movies?search=one").json()["count"] == 1
        assert client.get("/api/movies?search=nothing").json()["count"] == 0
        assert client.get("/api/genres").json()["results"] == []
        other_host = client.get("/api/movies?search=one", HTTP_HOST="localhost")
        assert other_host.json()["next"] is None
        assert client.get("/api/movies?search=one&format=json").status_code == 200
        assert client.get("/api/movies/0").status_code == 404
        assert client.get("/api/movies?search=one", HTTP_HOST="evil.example").status_code == 400


def test_browsers_and_signed_in_clients_get_the_views_answer(client, editor):

    MovieFactory()
    client.get("/api/movies")
    html = client.get("/api/movies", HTTP_ACCEPT="text/html")
    assert html.headers["Content-Type"].startswith("text/html")
    client.force_login(editor)
    signed_in = client.get("/api/movies")
    assert signed_in.headers["Cache-Control"] == "private, no-cache"


def test_with_redis_a_repeated_read_asks_no_database(
    client, redis_cache, django_assert_num_queries
):
    MovieFactory.create_batch(3)
    first = client.get("/api/movies?search=movie")
    with django_assert_num_queries(0):
        second = client.get("/api/movies?search=movie")
    assert second.content == first.content
    assert second.headers["ETag"] == first.headers["ETag"]


def test_with_redis_a_replay_reads_one_version_until_a_write(
    client, redis_cache, django_assert_num_queries, apart
):
    """An answer depending on many parts is current while the catalogue's version is
    the one read before it: their versions need not be read."""
    _, heat = apart
    suggested(client, "zorblat")
    redis_cache.delete_many(redis_cache.keys("catalogue-version:*"))  # the parts' versions
    with django_assert_num_queries(0):
        assert suggested(client, "zorblat") == ["Zorblat"]
    writes.update_movie(heat.pk, popularity=2.0)
    redis_cache.delete_many(redis_cache.keys("catalogue-version*"))
    with django_assert_num_queries(1):  # the versions of the parts it depends on
        assert suggested(client, "zorblat") == ["Zorblat"]


def test_a_write_publishes_its_version_at_once(client, redis_cache):
    client.get("/api/movies")
    movie = MovieFactory(name="Fresh")
    assert redis_cache.get(VERSION_HINT_KEY) == CatalogueVersion.current()
    assert client.get("/api/movies").json()["results"][0]["name"] == "Fresh"
    writes.delete_movie(movie.pk)
    assert client.get("/api/movies").json()["results"] == []


def test_a_write_publishes_its_version_again_on_commit(
    redis_cache, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        MovieFactory()
        redis_cache.delete(VERSION_HINT_KEY)  # as if it expired during a long transaction
    assert redis_cache.get(VERSION_HINT_KEY) == CatalogueVersion.current()


def test_the_published_version_never_goes_back(redis_cache):
    publish_version(2_000)
    publish_version(1_000)  # a slower writer that committed earlier
    assert redis_cache.get(VERSION_HINT_KEY) == 2_000


@pytest.mark.slow
def test_an_unpublished_write_is_seen_once_the_published_version_expires(client, redis_cache):
    """The bound on staleness when a writer dies between its commit and its publication."""
    movie = MovieFactory(name="Before")
    assert client.get("/api/movies").json()["results"][0]["name"] == "Before"
    # A write that raises the version in the database but publishes nothing.
    Movie.objects.filter(pk=movie.pk).update(name="After")
    CatalogueVersion.objects.update(version=F("version") + 1)
    time.sleep(VERSION_HINT_TTL_MS / 1000 + 0.1)
    assert client.get("/api/movies").json()["results"][0]["name"] == "After"


@pytest.mark.slow
def test_a_rolled_back_write_never_shows(client, redis_cache):
    MovieFactory(name="Kept")
    client.get("/api/movies")
    with transaction.atomic():
        MovieFactory(name="Rolled back")
        # Published before the commit that never comes: reads just miss the cache.
        transaction.set_rollback(True)
    names = [movie["name"] for movie in client.get("/api/movies").json()["results"]]
    assert names == ["Kept"]
    time.sleep(VERSION_HINT_TTL_MS / 1000 + 0.1)
    again = [movie["name"] for movie in client.get("/api/movies").json()["results"]]
    assert again == ["Kept"]


# A parameter's value can never pass for another parameter, a path or a host.


def test_an_encoded_ampersand_in_a_value_is_not_another_parameter(client):
    hitchcock = GenreFactory(name="Thriller")
    for name in ("The Birds", "The Lodger", "Psycho"):
        MovieFactory(name=name, director="Alfred Hitchcock", genres=[hitchcock])
    poison = client.get("/api/movies?director=hitchcock%26search%3Dthe")
    assert poison.json()["count"] == 0
    honest = client.get("/api/movies?search=the&director=hitchcock")
    assert honest.json()["count"] == 2
    assert honest.headers["ETag"] != poison.headers["ETag"]


def test_the_apis_own_next_links_cannot_be_poisoned(client):
    MovieFactory.create_batch(3, director="Alfred Hitchcock")
    next_link = client.get("/api/movies?director=hitchcock&limit=1").json()["next"]
    # A value that spells the next link's other parameters, fetched before it.
    client.get("/api/movies?director=hitchcock%26limit%3D1%26offset%3D1")
    second = client.get(next_link).json()
    assert (second["count"], len(second["results"])) == (3, 1)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("director=a%26search%3Db", "director=a&search=b"),
        ("director=a%3Db", "director%3Da=b"),
        ("a=1&b=2", "a=1%26b%3D2"),
        ("search=x%0Ay", "search=x&y"),
        ("director=a%22%2C%22b", "director=a&director=b"),
    ],
)
def test_distinct_query_strings_have_distinct_fingerprints(rf, one, other):
    from catalog.web.caching import request_fingerprint

    first = request_fingerprint(rf.get(f"/api/movies?{one}"), "json")
    second = request_fingerprint(rf.get(f"/api/movies?{other}"), "json")
    assert first != second


def test_a_public_response_never_sets_a_cookie(client):
    MovieFactory()
    browsable = client.get("/api/movies", HTTP_ACCEPT="text/html")
    for response in (browsable, client.get("/api/movies"), client.get("/api/genres")):
        cache_control = response.headers.get("Cache-Control", "")
        assert not (response.cookies and "public" in cache_control), response.headers


@pytest.mark.parametrize(
    "accept",
    ["application/vnd.x+json", "text/html;charset=utf-8, application/json", "application/xml"],
)
def test_a_warm_cache_answers_every_accept_header_as_a_cold_one(client, accept):
    MovieFactory()
    cold = client.get("/api/movies?search=movie", HTTP_ACCEPT=accept)
    cache.clear()
    client.get("/api/movies?search=movie")  # warms the cache for plain JSON
    warm = client.get("/api/movies?search=movie", HTTP_ACCEPT=accept)
    assert (warm.status_code, warm.headers["Content-Type"]) == (
        cold.status_code,
        cold.headers["Content-Type"],
    )


def test_a_replayed_head_has_the_length_of_the_get(client):
    MovieFactory()
    first = client.get("/api/movies")
    head = client.head("/api/movies")
    assert head.headers["Content-Length"] == str(len(first.content))


# What one request may take of the cache.


@pytest.fixture
def list_runs(monkeypatch) -> list[str]:
    """Each time the movie list or the search page is computed rather than replayed."""
    from catalog.api.pagination import MoviePagination
    from catalog.site import views

    runs: list[str] = []
    plan, results = MoviePagination.present_movies, views.search_results

    def planning(self, *args, **kwargs):
        runs.append("api")
        return plan(self, *args, **kwargs)

    def searching(*args, **kwargs):
        runs.append("page")
        return results(*args, **kwargs)

    monkeypatch.setattr(MoviePagination, "present_movies", planning)
    monkeypatch.setattr(views, "search_results", searching)
    return runs


@pytest.mark.parametrize(
    ("url", "accept"),
    [("/api/movies", "application/json"), ("/api/movies", "text/html"), ("/?q=movie", "*/*")],
)
def test_an_answer_larger_than_the_bound_is_never_kept(client, settings, list_runs, url, accept):
    MovieFactory.create_batch(3)
    settings.API_CACHE_MAX_BYTES = 200
    for _ in range(2):
        assert client.get(url, HTTP_ACCEPT=accept).status_code == 200
    assert len(list_runs) == 2
    settings.API_CACHE_MAX_BYTES = 1_000_000
    for _ in range(2):
        client.get(url, HTTP_ACCEPT=accept)
    assert len(list_runs) == 3


@pytest.mark.parametrize(
    "url", ["/api/movies?director=hitchcock&limit=1", "/?q=hitchcock", "/?genre=Thriller"]
)
def test_parameters_an_answer_ignores_share_its_cache_entry(client, list_runs, url):
    MovieFactory.create_batch(
        3, director="Alfred Hitchcock", genres=[GenreFactory(name="Thriller")]
    )
    first = client.get(url)
    for ignored in ("n=1", "n=2", "_=1700000000", "utm_source=mail", "director%3D=x"):
        again = client.get(f"{url}&{ignored}")
        assert again.content == first.content
        assert again.headers["ETag"] == first.headers["ETag"]
    assert len(list_runs) == 1


@pytest.mark.parametrize("other", ["facets=genre", "genre_any=Drama"])
def test_genre_any_and_facets_answers_are_cache_entries_of_their_own(client, list_runs, other):
    MovieFactory.create_batch(
        3, director="Alfred Hitchcock", genres=[GenreFactory(name="Thriller")]
    )
    url = "/api/movies?director=hitchcock"
    first = client.get(url)
    again = client.get(f"{url}&{other}")
    assert again.content != first.content
    assert len(list_runs) == 2


def test_a_lists_links_carry_its_own_parameters_only(client):
    MovieFactory.create_batch(3, director="Alfred Hitchcock")
    body = client.get("/api/movies?director=hitchcock&limit=1&offset=1&n=%3Cb%3E").json()
    for link in (body["next"], body["previous"]):
        assert "director=hitchcock" in link
        assert "n=" not in link


def test_variants_of_a_url_by_ignored_parameters_take_one_entry_in_redis(client, redis_cache):
    MovieFactory(name="Cached", genres=[GenreFactory(name="Drama")])
    for n in range(10):
        assert client.get(f"/?genre=Drama&n={n}").status_code == 200
        assert client.get(f"/api/movies?search=cached&n={n}").status_code == 200
    assert len(redis_cache.keys(f"{BYTES_KEY_PREFIX}:*")) == 2


def test_every_public_read_is_a_route_and_names_the_parameters_its_answer_depends_on():
    from django.urls import reverse

    from catalog.web.routes import PUBLIC_READS

    reverse("site-search")  # the URL configuration, where public reads are declared
    assert set(PUBLIC_READS) == {
        "movie-list",
        "movie-detail",
        "movie-suggest",
        "genre-list",
        "genre-detail",
        "site-search",
        "site-movie",
    }
    assert PUBLIC_READS["movie-list"].parameters >= {
        "search",
        "genre",
        "genre_any",
        "facets",
        "limit",
        "offset",
    }
    assert PUBLIC_READS["site-search"].parameters == {"q", "verbatim", "genre", "ordering", "page"}


def test_a_search_as_typed_is_a_cache_entry_of_its_own(client, list_runs):
    MovieFactory(name="Vertigo", director="Alfred Hitchcock")
    corrected = client.get("/?q=vertgo")
    as_typed = client.get("/?q=vertgo&verbatim=1")
    assert corrected.headers["ETag"] != as_typed.headers["ETag"]
    assert "Showing results for" in corrected.content.decode()
    assert "Showing results for" not in as_typed.content.decode()
    assert client.get("/?q=vertgo&verbatim=1&n=1").content == as_typed.content
    assert len(list_runs) == 2


# Invalidation as fine as the write (catalog.scopes)


def searched(client, query: str) -> list[str]:
    return [movie["name"] for movie in client.get(f"/api/movies?search={query}").json()["results"]]


@pytest.fixture
def apart():
    """Two movies whose texts share no trigram bucket with the other's searches."""
    from catalog.scopes import search_scope, text_scopes
    from catalog.search import Search

    drama = GenreFactory(name="Drama")
    zorblat = MovieFactory(name="Zorblat", director="Ann Quill", popularity=12.0, genres=[drama])
    heat = MovieFactory(name="Heat", director="Michael Mann", popularity=83.0)
    heats = text_scopes(["heat\nmichael mann\n83.0\n5.0", "heat wave\nmichael mann\n1.5\n5.0"])
    assert search_scope(Search.parse("zorblat")) not in heats
    return zorblat, heat


def test_an_edit_keeps_the_cached_searches_it_cannot_change(client, list_runs, apart):
    zorblat, heat = apart
    assert searched(client, "zorblat") == ["Zorblat"]
    assert searched(client, "zorblat") == ["Zorblat"]
    assert list_runs == ["api"]  # the second one replayed
    writes.update_movie(heat.pk, name="Heat Wave", popularity=1.5)
    assert searched(client, "zorblat") == ["Zorblat"]
    assert list_runs == ["api"]  # still replayed: Heat's edit cannot change it
    assert searched(client, "heat") == ["Heat Wave"]
    assert client.get("/api/movies?ordering=popularity").json()["results"][0]["name"] == (
        "Heat Wave"
    )  # a list of everything depends on everything


def test_a_search_of_two_characters_is_kept_across_edits_without_them(client, list_runs, apart):
    from catalog.scopes import search_scope, text_scopes
    from catalog.search import Search

    zorblat, heat = apart
    renamed = ["zorblat\nann quill\n12.0\n5.0", "zorblat redux\nann quill\n12.0\n5.0", "drama"]
    assert search_scope(Search.parse("83")) not in text_scopes(renamed)
    assert searched(client, "83") == searched(client, "83") == ["Heat"]
    writes.update_movie(zorblat.pk, name="Zorblat Redux")
    assert searched(client, "83") == ["Heat"]
    assert list_runs == ["api"]  # replayed: no 83 in Zorblat's text, before or after
    writes.update_movie(heat.pk, popularity=1.5)
    assert searched(client, "83") == []


def test_a_cached_search_is_kept_across_edits_of_its_trigrams_the_last_writes_hold(
    client, list_runs, apart
):
    """It depends on the one of its trigrams' buckets raised longest ago, not on its first."""
    from catalog.scopes import search_scopes, text_bucket, text_scopes
    from catalog.search import Search, search_document

    zorblat, heat = apart

    def heat_named(name: str) -> str:
        return search_document(
            name=name,
            director=heat.director,
            popularity=heat.popularity,
            imdb_score=heat.imdb_score,
        )

    first = text_scopes([heat_named("Heat"), heat_named("Zorro")])
    second = text_scopes([heat_named("Zorro"), heat_named("Zorro II")])
    buckets = search_scopes(Search.parse("zorblat"))
    assert buckets[0] == text_bucket("zor")
    assert set(buckets) - first
    assert not (set(buckets) - first) & second
    writes.update_movie(heat.pk, name="Zorro")
    assert searched(client, "zorblat") == searched(client, "zorblat") == ["Zorblat"]
    writes.update_movie(heat.pk, name="Zorro II")
    assert searched(client, "zorblat") == ["Zorblat"]
    assert list_runs == ["api"]  # replayed: the second edit raised zor again, and nothing else


@pytest.mark.parametrize(
    "change",
    [
        lambda movie: writes.update_movie(movie.pk, popularity=99.0),
        lambda movie: writes.update_movie(movie.pk, name="Zorblat Returns"),
        lambda movie: writes.update_movie(movie.pk, genres=[]),
        lambda movie: writes.delete_movie(movie.pk),
        lambda movie: writes.rename_genre(movie.genres.get().pk, name="Melodrama"),
        lambda movie: writes.create_movie(
            name="Zorblat II", director="X", popularity=1, imdb_score=1, genres=["Drama"]
        ),
        lambda movie: import_records(records=[record(name="Zorblat III")]),
    ],
    ids=["score", "rename", "genres", "delete", "genre rename", "another match", "import"],
)
def test_a_write_that_can_change_a_cached_search_invalidates_it(client, apart, change):
    zorblat, _ = apart
    before = client.get("/api/movies?search=zorblat,drama")
    change(zorblat)
    after = client.get("/api/movies?search=zorblat,drama", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    expected = reference_search(Movie.objects.prefetch_related("genres"), "zorblat,drama")
    assert {movie["id"] for movie in after.json()["results"]} == expected


def test_a_movies_own_answer_is_kept_across_other_edits(client, list_runs, apart):
    zorblat, heat = apart
    first = client.get(f"/api/movies/{zorblat.pk}")
    writes.update_movie(heat.pk, name="Heat Wave")
    again = client.get(f"/api/movies/{zorblat.pk}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    writes.update_movie(zorblat.pk, name="Zorblat Redux")
    fresh = client.get(f"/api/movies/{zorblat.pk}", HTTP_IF_NONE_MATCH=first["ETag"])
    assert (fresh.status_code, fresh.json()["name"]) == (200, "Zorblat Redux")


def test_a_search_that_found_nothing_is_found_once_a_movie_matches(client, apart):
    _, heat = apart
    assert client.get("/api/movies?search=zorblatt").json()["did_you_mean"] == "zorblat"
    writes.update_movie(heat.pk, name="Zorblatt")  # now the search finds it
    assert searched(client, "zorblatt") == ["Zorblatt"]


def test_a_search_that_found_nothing_is_kept_across_edits_it_cannot_change(
    client, list_runs, apart
):
    _, heat = apart
    for _ in range(2):
        assert client.get("/api/movies?search=zorblatt").json()["did_you_mean"] == "zorblat"
    writes.update_movie(heat.pk, name="Heat Wave", popularity=1.5)
    assert client.get("/api/movies?search=zorblatt").json()["did_you_mean"] == "zorblat"
    assert list_runs == ["api"]  # replayed twice


@pytest.fixture
def unseen_correction(apart):
    """A search, ``xorblat`` among comedies, whose correction (``zorblat``) finds no comedy,
    and a comedy that the correction would find, whose words the search never reads."""
    from catalog.scopes import correction_scopes, search_scope, text_scopes, word_scopes
    from catalog.search import Search

    GenreFactory(name="Comedy")
    search = Search.parse("xorblat")
    comedy = "bigzorblat\nann quill\n2.0\n5.0\ncomedy"
    read_first = correction_scopes(search, []) | {search_scope(search)}
    assert not read_first & (text_scopes([comedy]) | word_scopes([comedy]))
    return lambda: writes.create_movie(
        name="Bigzorblat", director="Ann Quill", popularity=2, imdb_score=5, genres=["Comedy"]
    )


def test_a_search_that_found_nothing_depends_on_the_corrections_it_tried(
    client, unseen_correction
):
    url = "/api/movies?search=xorblat&genre=Comedy"
    assert client.get(url).json()["did_you_mean"] is None  # zorblat is no comedy
    unseen_correction()
    assert client.get(url).json()["did_you_mean"] == "zorblat"


@pytest.fixture
def while_answering(monkeypatch):
    """Makes a write once, right after the next list's data is read and before its answer
    is kept."""
    from catalog.api import views

    compute = views.list_movies

    def write_once(write):
        def write_meanwhile(query):
            page = compute(query)
            monkeypatch.setattr(views, "list_movies", compute)  # once
            write()
            return page

        monkeypatch.setattr(views, "list_movies", write_meanwhile)

    return write_once


def test_a_write_while_a_search_that_found_nothing_is_answered_is_never_missed(
    client, redis_cache, while_answering, unseen_correction
):
    """What the answer read is only known once it is computed: a write committed in
    between must not be taken for one the answer saw."""
    while_answering(unseen_correction)
    url = "/api/movies?search=xorblat&genre=Comedy"
    assert client.get(url).json()["did_you_mean"] is None
    assert client.get(url).json()["did_you_mean"] == "zorblat"


def test_a_write_while_a_search_that_found_nothing_is_answered_keeps_it_if_unrelated(
    client, list_runs, redis_cache, while_answering, apart
):
    """A write in between that changes nothing the answer read leaves it scoped: kept
    across the next unrelated write too."""
    _, heat = apart
    while_answering(lambda: writes.update_movie(heat.pk, name="Heat Wave"))
    assert client.get("/api/movies?search=zorblatt").json()["did_you_mean"] == "zorblat"
    writes.update_movie(heat.pk, name="Heat Wave II", popularity=1.5)
    assert client.get("/api/movies?search=zorblatt").json()["did_you_mean"] == "zorblat"
    assert list_runs == ["api"]  # replayed


def suggested(client, query: str) -> list[str]:
    response = client.get("/api/movies/suggest", {"q": query})
    return [movie["name"] for movie in response.json()["results"]]


@pytest.fixture
def suggestion_runs(monkeypatch) -> list[str]:
    """The queries suggestions were computed for rather than replayed."""
    from catalog.api import views

    runs: list[str] = []
    compute = views.suggest

    def suggesting(queryset, query, limit):
        runs.append(query)
        return compute(queryset, query, limit)

    monkeypatch.setattr(views, "suggest", suggesting)
    return runs


def test_an_edit_keeps_the_cached_suggestions_it_cannot_change(client, suggestion_runs, apart):
    zorblat, heat = apart
    assert suggested(client, "zorbl") == suggested(client, "zorbl") == ["Zorblat"]
    assert suggestion_runs == ["zorbl"]
    writes.update_movie(heat.pk, name="Heat Wave", popularity=1.5)
    writes.create_movie(name="Ronin", director="John Frankenheimer", popularity=5, imdb_score=7)
    assert suggested(client, "zorbl") == ["Zorblat"]
    assert suggestion_runs == ["zorbl"]  # replayed: neither write holds a word like it
    assert suggested(client, "heat w") == ["Heat Wave"]


@pytest.mark.parametrize(
    ("query", "change", "expected"),
    [
        ("zorbl", lambda zorblat: writes.update_movie(zorblat.pk, name="Zorblat Returns"), None),
        ("zorbl", lambda zorblat: writes.delete_movie(zorblat.pk), None),
        (
            "zorbl",
            lambda _: writes.create_movie(
                name="Zorblax", director="X", popularity=90, imdb_score=1
            ),
            None,
        ),
        (  # a more popular movie by a director of a name one edit away
            "quil",
            lambda _: writes.create_movie(
                name="Twelve", director="Bo Quiel", popularity=90, imdb_score=1
            ),
            ["Zorblat", "Twelve"],  # the exact one first
        ),
        (  # the typed word's correction, used by no movie until now
            "zorblax",
            lambda zorblat: writes.update_movie(zorblat.pk, name="Zorblaxe"),
            ["Zorblaxe"],
        ),
        ("zorbl", lambda zorblat: writes.rename_genre(zorblat.genres.get().pk, name="Noir"), None),
    ],
    ids=["rename", "delete", "another match", "director typo", "correction", "genre rename"],
)
def test_a_write_that_can_change_cached_suggestions_invalidates_them(
    client, apart, query, change, expected
):
    from catalog.suggestions import suggest

    zorblat, _ = apart
    before = client.get("/api/movies/suggest", {"q": query})
    change(zorblat)
    after = client.get("/api/movies/suggest", {"q": query}, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    names = [movie["name"] for movie in after.json()["results"]]
    fresh = [Movie.objects.get(pk=pk).name for pk in suggest(Movie.objects.all(), query, 10)]
    assert names == fresh
    if expected is not None:
        assert names == expected


def test_every_suggested_movie_raises_what_its_suggestions_depend_on():
    from catalog.scopes import suggestion_scopes, word_scopes
    from catalog.suggestions import suggest, typed_words

    names = ["The Godfather", "Nosferatu the Vampyre", "Heat", "Hearts of Darkness", "2001"]
    for name in names:
        MovieFactory(name=name, director="Werner Herzog")
    queries = ["godfather", "the godfahter", "nosferat", "nosfreatu", "hea", "harts", "20", "herz"]
    queries += ["verner", "the vampire", "darknes of", "hertzog heat"]
    for query in queries:
        depends = suggestion_scopes(typed_words(query))
        found = Movie.objects.filter(pk__in=suggest(Movie.objects.all(), query, 10))
        assert found, query
        for movie in found:
            assert depends & word_scopes([movie.search_text]), (query, movie.name)


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_no_reader_gets_an_answer_older_than_a_completed_write(redis_cache, settings, monkeypatch):
    """Writers rename a movie again and again while readers ask; each reader asks
    after a write returned, and must see that write or a later one.

    The guarantee is the primary's: a replica replays writes a moment later (see
    operations.database_routing), so every read here goes to the primary, in the
    readers' threads too (a request scope would stay in the thread that opened it).
    """
    import threading

    from django.db import connections
    from django.test import Client
    from rest_framework.throttling import AnonRateThrottle

    settings.DATABASE_ROUTERS = []
    monkeypatch.setitem(AnonRateThrottle.THROTTLE_RATES, "anon", None)  # readers ask fast
    movie = MovieFactory(name="Qzx a", director="Odile Vantrope")
    for n in range(20):  # other movies, edited too, whose searches stay cached
        MovieFactory(name=f"Other {n}", director=f"Someone {n}")
    completed = [0]
    reads = [0]
    errors: list[str] = []
    stop = threading.Event()

    def name(i: int) -> str:
        return "Qzx " + "".join(chr(ord("a") + int(digit)) for digit in str(i))

    def write() -> None:
        try:
            for i in range(1, 60):
                writes.update_movie(movie.pk, name=name(i))
                other = Movie.objects.filter(name__startswith="Other").order_by("?").first()
                writes.update_movie(other.pk, popularity=float(i))
                completed[0] = i
        finally:
            stop.set()
            connections.close_all()

    def read() -> None:
        client = Client()
        try:
            while not stop.is_set():
                done = completed[0]
                urls = (
                    "/api/movies?search=vantrope",
                    "/api/movies/suggest?q=vantrop",
                    f"/api/movies/{movie.pk}",
                )
                for url in urls:
                    response = client.get(url)
                    if response.status_code != 200:
                        errors.append(f"{url} answered {response.status_code}")
                        return
                    reads[0] += 1
                    body = response.json()
                    shown = body["results"][0]["name"] if "results" in body else body["name"]
                    seen = [i for i in range(done, 60) if name(i) == shown]
                    if not seen:
                        errors.append(f"{url} answered {shown!r} after write {done} returned")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert completed[0] == 59
    assert errors == []
    assert reads[0] > 59  # the readers kept reading while the writes went on


def test_a_slow_answer_never_brings_back_versions_older_than_a_write(
    client, redis_cache, while_answering, apart
):
    """A write lands while an answer is computed, and its publication expires before the
    answer is kept: the next read must still see the write."""
    import time

    zorblat, _ = apart

    def write_then_wait():
        writes.update_movie(zorblat.pk, name="Zorblat Late")
        time.sleep(VERSION_HINT_TTL_MS / 1000 + 0.1)
        assert redis_cache.keys("catalogue-version*") == []  # the write's expired

    while_answering(write_then_wait)
    assert searched(client, "zorblat") == ["Zorblat"]
    assert searched(client, "zorblat") == ["Zorblat Late"]


def test_a_write_of_many_movies_invalidates_every_answer_rather_than_name_them(
    client, monkeypatch
):
    from catalog.models import ScopeVersion

    monkeypatch.setattr(writes, "SCOPES_MAX", 50)
    heat = MovieFactory(name="Heat", director="Michael Mann")
    MovieFactory.create_batch(40)
    searched(client, "heat")
    ScopeVersion.objects.all().delete()
    writes.delete_movies(Movie.objects.exclude(pk=heat.pk).values_list("pk", flat=True))
    assert list(ScopeVersion.objects.values_list("scope", flat=True)) == ["wide"]
    assert searched(client, "heat") == ["Heat"]
