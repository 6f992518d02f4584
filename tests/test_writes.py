from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Genre, Movie
from tests.factories import GenreFactory, MovieFactory

pytestmark = pytest.mark.django_db

PATHS_OF_GLORY = {
    "name": "Paths of Glory",
    "director": "Stanley Kubrick",
    "popularity": 86.0,
    "imdb_score": 8.4,
    "genre": ["Drama", " war "],
}


def token_client(*, staff: bool) -> APIClient:
    user = User.objects.create_user(
        f"user-{staff}", password="a-long-password-123", is_staff=staff
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def staff():
    return token_client(staff=True)


def test_anonymous_writes_are_401(client):
    response = client.post("/api/movies", PATHS_OF_GLORY, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"] == "Token"
    assert Movie.objects.count() == 0


def test_non_staff_writes_are_403():
    response = token_client(staff=False).post("/api/movies", PATHS_OF_GLORY, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_staff_creates_a_movie_with_genre_names(staff):
    Genre.objects.create(name="Drama")
    response = staff.post("/api/movies", PATHS_OF_GLORY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [g["name"] for g in body["genre"]] == ["Drama", "war"]
    assert Genre.objects.count() == 2
    assert staff.get("/api/movies?search=kubrick,war").json()["count"] == 1


def test_duplicate_movie_is_a_409_that_says_so(staff):
    staff.post("/api/movies", PATHS_OF_GLORY, format="json")
    response = staff.post("/api/movies", PATHS_OF_GLORY, format="json")
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
def test_invalid_movie_fields_are_400_per_field(staff, change, field):
    response = staff.post("/api/movies", {**PATHS_OF_GLORY, **change}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}
    assert Movie.objects.count() == 0


def test_patch_replaces_genres_and_search_follows(staff):
    movie = MovieFactory(name="Heat", genres=[GenreFactory(name="Crime")])
    response = staff.patch(f"/api/movies/{movie.pk}", {"genre": ["Thriller"]}, format="json")
    assert response.status_code == 200
    assert staff.get("/api/movies?search=heat,thriller").json()["count"] == 1
    assert staff.get("/api/movies?search=heat,crime").json()["count"] == 0


def test_put_and_delete_a_movie(staff):
    movie = MovieFactory()
    assert staff.put(f"/api/movies/{movie.pk}", PATHS_OF_GLORY, format="json").status_code == 200
    assert Movie.objects.get().name == "Paths of Glory"
    assert staff.delete(f"/api/movies/{movie.pk}").status_code == 204
    assert Movie.objects.count() == 0


def test_genre_counts_follow_movie_writes(staff):
    def counts() -> dict[str, int]:
        results = staff.get("/api/genres").json()["results"]
        return {genre["name"]: genre["movie_count"] for genre in results}

    movie_id = staff.post("/api/movies", PATHS_OF_GLORY, format="json").json()["id"]
    assert counts() == {"Drama": 1, "war": 1}
    patched = staff.patch(f"/api/movies/{movie_id}", {"genre": ["War", "History"]}, format="json")
    assert patched.status_code == 200
    assert counts() == {"Drama": 0, "History": 1, "war": 1}
    assert staff.delete(f"/api/movies/{movie_id}").status_code == 204
    assert counts() == {"Drama": 0, "History": 0, "war": 0}


def test_staff_writes_genres(staff):
    created = staff.post("/api/genres", {"name": "Film-Noir"}, format="json")
    assert created.status_code == 201
    genre_id = created.json()["id"]
    assert staff.post("/api/genres", {"name": "film-noir"}, format="json").status_code == 409
    movie = MovieFactory(genres=[Genre.objects.get(pk=genre_id)])
    renamed = staff.patch(f"/api/genres/{genre_id}", {"name": "Noir"}, format="json")
    assert renamed.status_code == 200
    assert staff.get("/api/movies?search=noir").json()["results"][0]["id"] == movie.pk
    assert staff.delete(f"/api/genres/{genre_id}").status_code == 204
    assert staff.get("/api/movies?search=noir").json()["count"] == 0


def test_session_writes_need_the_csrf_token():
    admin = User.objects.create_user("admin", password="a-long-password-123", is_staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post("/api/genres", {"name": "Noir"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_unsupported_media_type_is_415(staff):
    response = staff.post(
        "/api/genres", "name=Noir", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["status"] == 415


def test_malformed_json_is_400(staff):
    response = staff.post("/api/genres", "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# The token command


def test_token_command_issues_and_revokes():
    User.objects.create_user("editor", is_staff=True)
    out = StringIO()
    call_command("api_token", "issue", "editor", stdout=out)
    key = out.getvalue().strip()
    assert Token.objects.get().key == key
    call_command("api_token", "revoke", "editor", stdout=StringIO())
    assert not Token.objects.exists()


def test_token_command_names_an_unknown_account():
    with pytest.raises(CommandError, match="No account named 'ghost'"):
        call_command("api_token", "issue", "ghost", stdout=StringIO())
