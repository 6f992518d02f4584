from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog import consistency, writes
from catalog.api import schema as docs
from catalog.models import Genre, Movie
from catalog.writes import import_file
from tests.conftest import FIXTURE_PATH
from tests.factories import GenreFactory, MovieFactory, UserFactory, api_token, token_client

pytestmark = pytest.mark.django_db

# The documented example, one of its genre names padded with spaces.
PATHS_OF_GLORY = {**docs.MOVIE_WRITE_EXAMPLE.value, "genre": ["Drama", " war "]}


def test_anonymous_writes_are_401(client):
    response = client.post("/api/movies", PATHS_OF_GLORY, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"] == "Token"
    assert Movie.objects.count() == 0


def test_non_staff_writes_are_403():
    response = token_client(UserFactory()).post("/api/movies", PATHS_OF_GLORY, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def found(client, query: str) -> list[str]:
    return [
        movie["name"] for movie in client.get("/api/movies", {"search": query}).json()["results"]
    ]


def suggested(client, query: str) -> list[str]:
    answer = client.get("/api/movies/suggest", {"q": query}).json()
    return [movie["name"] for movie in answer["results"]]


def test_an_edit_through_the_api_is_what_every_reader_finds_at_once(editor_client, client):
    """Each edit is found by its new values and no longer by its old ones, everywhere."""
    import_file(path=FIXTURE_PATH)
    psycho = Movie.objects.get(name="Psycho", director="Alfred Hitchcock")
    # Read once, so that a cached answer would be there to go stale.
    assert found(client, "psycho hitchcock") == ["Psycho"]
    assert suggested(client, "psycho hitch") == ["Psycho"]

    patched = editor_client.patch(
        f"/api/movies/{psycho.pk}", {"name": "Zanzibarque Nights"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert found(client, "zanzibarque") == ["Zanzibarque Nights"]
    assert found(client, "psycho hitchcock") == []
    assert suggested(client, "zanzib") == ["Zanzibarque Nights"]
    assert suggested(client, "psycho hitch") == []
    misspelt = client.get("/api/movies", {"search": "zanzibarqe"}).json()
    assert misspelt["did_you_mean"] == "zanzibarque"

    replaced = editor_client.put(
        f"/api/movies/{psycho.pk}",
        {
            "name": "Quorvex",
            "director": "Ilse Vantongeren",
            "popularity": 81.25,
            "imdb_score": 8.75,
        },
        format="json",
    )
    assert replaced.status_code == 200, replaced.content
    assert found(client, "quorvex") == found(client, "vantongeren") == ["Quorvex"]
    assert found(client, "quorvex 8.75") == found(client, "quorvex 81.25") == ["Quorvex"]
    assert found(client, "zanzibarque") == found(client, "hitchcock zanzibarque") == []
    assert suggested(client, "vantong") == ["Quorvex"]

    rescored = editor_client.patch(f"/api/movies/{psycho.pk}", {"imdb_score": 2.5}, format="json")
    assert rescored.status_code == 200, rescored.content
    assert found(client, "quorvex 2.5") == ["Quorvex"]
    assert found(client, "quorvex 8.75") == []
    detail = client.get(f"/api/movies/{psycho.pk}").json()
    assert (detail["name"], detail["imdb_score"]) == ("Quorvex", 2.5)
    assert list(consistency.check()) == []


def test_staff_creates_a_movie_with_genre_names(editor_client):
    writes.create_genre(name="Drama")
    response = editor_client.post("/api/movies", PATHS_OF_GLORY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [g["name"] for g in body["genre"]] == ["Drama", "war"]
    assert Genre.objects.count() == 2
    assert editor_client.get("/api/movies?search=kubrick,war").json()["count"] == 1


def test_duplicate_movie_is_a_409_that_says_so(editor_client):
    editor_client.post("/api/movies", PATHS_OF_GLORY, format="json")
    response = editor_client.post("/api/movies", PATHS_OF_GLORY, format="json")
    assert response.status_code == 409
    assert response.json()["errors"] == {
        "name": ["A movie with this name and director already exists."]
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"imdb_score": 11}, "imdb_score"),
        ({"popularity": -1}, "popularity"),
        ({"popularity": "lots"}, "popularity"),
        ({"name": ""}, "name"),
        ({"director": "   "}, "director"),
        ({"genre": "Drama"}, "genre"),
        ({"genre": [""]}, "genre"),
        ({"genre": ["x" * 101]}, "genre"),
        ({"name": "x" * 256}, "name"),
    ],
)
def test_invalid_movie_fields_are_400_per_field(editor_client, change, field):
    response = editor_client.post("/api/movies", {**PATHS_OF_GLORY, **change}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}
    assert Movie.objects.count() == 0


def test_patch_replaces_genres_and_search_follows(editor_client):
    movie = MovieFactory(name="Heat", genres=[GenreFactory(name="Crime")])
    response = editor_client.patch(
        f"/api/movies/{movie.pk}", {"genre": ["Thriller"]}, format="json"
    )
    assert response.status_code == 200
    assert editor_client.get("/api/movies?search=heat,thriller").json()["count"] == 1
    assert editor_client.get("/api/movies?search=heat,crime").json()["count"] == 0


def test_put_and_delete_a_movie(editor_client):
    movie = MovieFactory()
    assert (
        editor_client.put(f"/api/movies/{movie.pk}", PATHS_OF_GLORY, format="json").status_code
        == 200
    )
    assert Movie.objects.get().name == "Paths of Glory"
    assert editor_client.delete(f"/api/movies/{movie.pk}").status_code == 204
    assert Movie.objects.count() == 0


def test_genre_counts_follow_movie_writes(editor_client):
    def counts() -> dict[str, int]:
        results = editor_client.get("/api/genres").json()["results"]
        return {genre["name"]: genre["movie_count"] for genre in results}

    movie_id = editor_client.post("/api/movies", PATHS_OF_GLORY, format="json").json()["id"]
    assert counts() == {"Drama": 1, "war": 1}
    patched = editor_client.patch(
        f"/api/movies/{movie_id}", {"genre": ["War", "History"]}, format="json"
    )
    assert patched.status_code == 200
    assert counts() == {"Drama": 0, "History": 1, "war": 1}
    assert editor_client.delete(f"/api/movies/{movie_id}").status_code == 204
    assert counts() == {"Drama": 0, "History": 0, "war": 0}


def test_staff_writes_genres(editor_client):
    created = editor_client.post("/api/genres", {"name": "Film-Noir"}, format="json")
    assert created.status_code == 201
    genre_id = created.json()["id"]
    assert (
        editor_client.post("/api/genres", {"name": "film-noir"}, format="json").status_code == 409
    )
    movie = MovieFactory(genres=[Genre.objects.get(pk=genre_id)])
    renamed = editor_client.patch(f"/api/genres/{genre_id}", {"name": "Noir"}, format="json")
    assert renamed.status_code == 200
    assert editor_client.get("/api/movies?search=noir").json()["results"][0]["id"] == movie.pk
    assert editor_client.delete(f"/api/genres/{genre_id}").status_code == 204
    assert editor_client.get("/api/movies?search=noir").json()["count"] == 0


def test_session_writes_need_the_csrf_token(editor):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post("/api/genres", {"name": "Noir"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_unsupported_media_type_is_415(editor_client):
    response = editor_client.post(
        "/api/genres", "name=Noir", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["status"] == 415


def test_malformed_json_is_400(editor_client):
    response = editor_client.post("/api/genres", "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# The token command


def test_token_command_issues_and_revokes(editor):
    out = StringIO()
    call_command("api_token", "issue", "editor", stdout=out)
    key = out.getvalue().strip()
    assert Token.objects.get().key == key
    call_command("api_token", "revoke", "editor", stdout=StringIO())
    assert not Token.objects.exists()


def test_token_command_names_an_unknown_account():
    with pytest.raises(CommandError, match="No account named 'ghost'"):
        call_command("api_token", "issue", "ghost", stdout=StringIO())


# API writes take the admin's model permissions


def test_staff_without_model_permissions_cannot_write():
    client = token_client(UserFactory(staff=True))
    movie, genre = MovieFactory(), GenreFactory()
    attempts = [
        client.post("/api/movies", PATHS_OF_GLORY, format="json"),
        client.patch(f"/api/movies/{movie.pk}", {"name": "X"}, format="json"),
        client.delete(f"/api/movies/{movie.pk}"),
        client.post("/api/genres", {"name": "Noir"}, format="json"),
        client.patch(f"/api/genres/{genre.pk}", {"name": "Noir"}, format="json"),
        client.delete(f"/api/genres/{genre.pk}"),
    ]
    assert [response.status_code for response in attempts] == [403] * 6
    assert (Movie.objects.count(), Genre.objects.count()) == (1, 1)
    assert client.get("/api/movies").status_code == 200


@pytest.mark.parametrize(
    ("permission", "allowed"),
    [("add_movie", "post"), ("change_movie", "patch"), ("delete_movie", "delete")],
)
def test_each_movie_write_takes_its_own_permission(permission, allowed):
    client = token_client(UserFactory(staff=True, permissions=[permission]))
    movie = MovieFactory()
    statuses = {
        "post": client.post("/api/movies", {**PATHS_OF_GLORY, "genre": []}, format="json"),
        "patch": client.patch(f"/api/movies/{movie.pk}", {"imdb_score": 1}, format="json"),
        "delete": client.delete(f"/api/movies/{movie.pk}"),
    }
    granted = {method for method, response in statuses.items() if response.status_code < 300}
    assert granted == {allowed}


def test_new_genres_through_a_movie_take_the_add_genre_permission():
    client = token_client(UserFactory(staff=True, permissions=["add_movie"]))
    writes.create_genre(name="Drama")
    refused = client.post("/api/movies", PATHS_OF_GLORY, format="json")
    assert refused.status_code == 403
    assert "war" in refused.json()["detail"]
    assert (Movie.objects.count(), Genre.objects.count()) == (0, 1)
    existing_only = client.post(
        "/api/movies", {**PATHS_OF_GLORY, "genre": ["DRAMA"]}, format="json"
    )
    assert existing_only.status_code == 201


def test_superusers_may_do_everything():
    client = token_client(UserFactory(superuser=True))
    assert client.post("/api/movies", PATHS_OF_GLORY, format="json").status_code == 201
    assert client.post("/api/genres", {"name": "Noir"}, format="json").status_code == 201


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reads_from_primary")
def test_a_patch_racing_a_delete_is_never_a_500_nor_brings_the_movie_back(
    editor_client, monkeypatch
):
    """A DELETE arrives while a PATCH of the same movie is between reading and saving it."""
    import threading

    from django.db import connection

    from catalog.api.views import MovieViewSet

    movie = MovieFactory()
    deleter = threading.Thread(target=lambda: (writes.delete_movie(movie.pk), connection.close()))
    update = MovieViewSet.perform_update

    def update_while_deleted(self, serializer):
        deleter.start()
        deleter.join(timeout=1)  # it waits for the PATCH's catalogue lock, or has deleted
        return update(self, serializer)

    monkeypatch.setattr(MovieViewSet, "perform_update", update_while_deleted)
    response = editor_client.patch(f"/api/movies/{movie.pk}", {"name": "Back"}, format="json")
    deleter.join()
    assert response.status_code in (200, 404), response.content
    assert not Movie.objects.exists()


def test_a_write_to_a_movie_already_gone_is_a_404(editor_client):
    movie = MovieFactory()
    writes.delete_movie(movie.pk)
    response = editor_client.patch(f"/api/movies/{movie.pk}", {"name": "Back"}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_of_genres_and_their_movies_never_deadlock(settings):
    """Every writer takes the catalogue lock before any row: no two wait for each other."""
    settings.DATABASE_ROUTERS = []  # writes only: the primary, replicas or not
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    token = api_token(UserFactory(editor=True))
    genre = GenreFactory(name="Noir")
    movies = MovieFactory.create_batch(3, genres=[genre])

    def write(request: tuple[str, str, dict]) -> int:
        method, url, body = request
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            return getattr(client, method)(url, body, format="json").status_code
        finally:
            connection.close()

    statuses = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for round_ in range(8):
            requests = [("patch", f"/api/genres/{genre.pk}", {"name": f"Noir {round_}"})]
            requests += [
                ("patch", f"/api/movies/{movie.pk}", {"popularity": round_}) for movie in movies
            ]
            statuses += pool.map(write, requests)
    assert set(statuses) == {200}


@pytest.mark.requires_postgres
def test_a_change_too_slow_for_a_request_is_undone_and_answered_in_json(
    editor_client, monkeypatch
):
    """As under gunicorn, where DATABASE_STATEMENT_TIMEOUT bounds every statement."""
    from django.db import connection

    genre = GenreFactory(name="Noir")
    MovieFactory(genres=[genre])

    def slow_statement(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 50")
            cursor.execute("SELECT pg_sleep(1)")

    monkeypatch.setattr(writes, "bump_version", slow_statement)
    response = editor_client.patch(f"/api/genres/{genre.pk}", {"name": "Film noir"}, format="json")
    assert (response.status_code, response.headers["Content-Type"]) == (503, "application/json")
    assert response.json()["code"] == "timeout"
    genre.refresh_from_db()
    assert genre.name == "Noir"


def test_web_workers_bound_each_statement_below_gunicorns_timeout(monkeypatch):
    import os
    import runpy

    from django.conf import settings as django_settings

    monkeypatch.delenv("DATABASE_STATEMENT_TIMEOUT", raising=False)  # restored afterwards
    config = runpy.run_path(str(django_settings.BASE_DIR / "config" / "gunicorn.py"))
    assert 0 < int(os.environ["DATABASE_STATEMENT_TIMEOUT"]) < config["timeout"]
