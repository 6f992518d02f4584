"""A copy made by the export and kept by the changes feed holds exactly the catalogue's rows."""

import json
import threading

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog import changes, writes
from catalog.models import Genre, Movie
from tests.factories import UserFactory, token_client


def server_rows() -> dict:
    """The catalogue as a copy should hold it: movies with their genres by id, genres."""
    genres = {pk: {"name": name} for pk, name in Genre.objects.values_list("pk", "name")}
    movies = {}
    for movie in Movie.objects.prefetch_related("genres"):
        movies[movie.pk] = {
            "name": movie.name,
            "director": movie.director,
            "popularity": movie.popularity,
            "imdb_score": movie.imdb_score,
            "genre_ids": sorted(genre.pk for genre in movie.genres.all()),
        }
    return {"movie": movies, "genre": genres}


def apply(copy: dict, entries) -> None:
    """What a client does with each entry of the export or the feed."""
    for entry in entries:
        kind, key = entry["type"], entry["id"]
        if entry.get("deleted"):
            copy[kind].pop(key, None)
            if kind == "genre":  # gone from every movie that had it
                for movie in copy["movie"].values():
                    movie["genre_ids"] = [pk for pk in movie["genre_ids"] if pk != key]
        else:
            copy[kind][key] = {
                name: value for name, value in entry.items() if name not in ("type", "id")
            }


def exported(client) -> tuple[dict, str]:
    response = client.get("/api/export")
    assert response.status_code == 200
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    header, entries = lines[0], lines[1:]
    assert header["type"] == "export"
    assert response["Changes-Token"] == header["changes_token"]
    copy: dict = {"movie": {}, "genre": {}}
    apply(copy, entries)
    return copy, header["changes_token"]


def follow(client, copy: dict, token: str, limit: int = 7) -> str:
    """Read the feed from ``token`` to its end, applying each page; the last token."""
    while True:
        response = client.get("/api/changes", {"since": token, "limit": limit})
        assert response.status_code == 200, response.content
        page = response.json()
        apply(copy, page["results"])
        token = page["token"]
        if not page["more"]:
            return token


@pytest.fixture
def staff():
    return token_client(UserFactory(staff=True))


def test_the_feed_from_the_start_gives_the_whole_imported_catalogue(fixture_catalogue):
    copy: dict = {"movie": {}, "genre": {}}
    follow(APIClient(), copy, "", limit=100)

    assert copy == server_rows()
    assert len(copy["movie"]) > 800


def test_a_copy_from_the_export_follows_every_kind_of_write(fixture_catalogue, staff):
    copy, token = exported(staff)
    assert copy == server_rows()
    drama = Genre.objects.get(name="Drama")
    heat = writes.create_movie(
        name="Zorblatt", director="Ann Lee", popularity=83, imdb_score=8.3, genres=["Crime"]
    )
    writes.update_movie(heat.id, name="Zorblatt II", genres=["Crime", "Drama"])
    some = list(Movie.objects.order_by("pk").values_list("pk", flat=True)[:3])
    writes.delete_movies(some)
    writes.rename_genre(drama.pk, name="Dramas")
    writes.delete_genre(Genre.objects.get(name="War").pk)
    writes.create_genre(name="Mumblecore")
    writes.import_records(
        records=[
            {
                "name": "Ran",
                "director": "Akira Kurosawa",
                "99popularity": 82,
                "imdb_score": 8.2,
                "genre": ["Dramas", "Epic"],
            }
        ]
    )

    token = follow(APIClient(), copy, token)

    assert copy == server_rows()
    # Nothing new: the same token, no entries.
    again = APIClient().get("/api/changes", {"since": token}).json()
    assert again["results"] == []
    assert again["token"] == token
    assert not again["more"]


@pytest.mark.requires_postgres  # SQLite's test database is one connection's
@pytest.mark.django_db(transaction=True)
def test_a_follower_beside_concurrent_writers_ends_with_the_servers_rows(
    fixture_catalogue, staff, settings
):
    settings.DATABASE_ROUTERS = []  # the primary's rows, compared at once
    copy, token = exported(staff)
    movies = list(Movie.objects.order_by("pk").values_list("pk", flat=True)[:40])
    failures: list[BaseException] = []

    def write(offset: int) -> None:
        from django.db import connections

        try:
            for n, pk in enumerate(movies[offset::2]):
                writes.update_movie(pk, popularity=float(n))
                if n % 5 == 0:
                    writes.delete_movie(pk)
                    writes.create_movie(
                        name=f"Remade {offset} {n}",
                        director="Ann Lee",
                        popularity=1,
                        imdb_score=5,
                        genres=["Drama"],
                    )
        except BaseException as error:  # reported by the test
            failures.append(error)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=write, args=(offset,)) for offset in (0, 1)]
    for writer in writers:
        writer.start()
    while any(writer.is_alive() for writer in writers):
        token = follow(APIClient(), copy, token, limit=5)
    for writer in writers:
        writer.join()
    follow(APIClient(), copy, token, limit=5)

    assert failures == []
    assert copy == server_rows()


def test_a_token_older_than_the_deletions_kept_is_gone(three_movies, settings):
    client = APIClient()
    token = client.get("/api/changes").json()["token"]
    settings.CHANGES_RETENTION_DAYS = 0  # every tombstone is purged by the next deletion

    writes.delete_movie(three_movies.heat.pk)
    response = client.get("/api/changes", {"since": token})

    assert response.status_code == 410
    assert "Export the catalogue again" in response.json()["errors"]["since"][0]
    # From the start, a client has nothing a deletion could have left behind.
    copy: dict = {"movie": {}, "genre": {}}
    follow(client, copy, "")
    assert copy == server_rows()


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"since": "not-a-token"}, "since"),
        ({"since": changes.encode_token(3)[:-2] + "xy"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_a_forged_token_or_a_bad_limit_is_a_400_naming_it(db, params, parameter):
    response = APIClient().get("/api/changes", params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [parameter]


def test_the_export_is_for_staff_or_the_export_token(three_movies, settings):
    settings.EXPORT_TOKEN = "s3cret-export"
    anonymous = APIClient().get("/api/export")
    plain = token_client(UserFactory()).get("/api/export")
    wrong = APIClient().get("/api/export", HTTP_AUTHORIZATION="Export nope")
    right = APIClient().get("/api/export", HTTP_AUTHORIZATION="Export s3cret-export")

    assert anonymous.status_code == plain.status_code == wrong.status_code == 403
    assert right.status_code == 200
    assert right["Content-Type"] == "application/x-ndjson"
    assert APIClient().get("/api/export", {"format": "xml"}).status_code == 403


def test_an_export_in_the_importers_format_imports_back_to_the_same_catalogue(
    fixture_catalogue, staff, tmp_path
):
    def catalogue() -> set:
        return {
            (
                m.name,
                m.director,
                m.popularity,
                m.imdb_score,
                tuple(sorted(g.name for g in m.genres.all())),
            )
            for m in Movie.objects.prefetch_related("genres")
        }

    before = catalogue()
    response = staff.get("/api/export", {"format": "seed"})
    path = tmp_path / "export.json"
    path.write_bytes(b"".join(response.streaming_content))
    writes.delete_movies(Movie.objects.values_list("pk", flat=True))
    writes.delete_genres(Genre.objects.values_list("pk", flat=True))

    call_command("populate_db", str(path))

    assert catalogue() == before


def test_export_db_writes_the_file_whole_or_leaves_nothing(three_movies, tmp_path, monkeypatch):
    path = tmp_path / "catalogue.ndjson"
    call_command("export_db", str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "export"
    assert sorted(line["name"] for line in lines if line["type"] == "movie") == sorted(
        Movie.objects.values_list("name", flat=True)
    )

    def failing(keys, using):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(changes, "movie_entries", failing)
    with pytest.raises(RuntimeError):
        call_command("export_db", str(tmp_path / "broken.ndjson"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalogue.ndjson"]
