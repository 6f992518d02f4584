"""Random sequences of every write path, each followed by every reader, against a model.

The machine drives the API (POST, PUT, PATCH, DELETE of movies and genres),
the admin's forms (add, change, delete, bulk delete), populate_db (creating
and updating), recount_genres and writes that fail half way; it keeps its own
model of what the catalogue must then hold. After every step, each reader
must agree with the model by brute force: the rows, the detail endpoint, the
genres' counts, list search (repeated queries, so cached answers and ETags are
read too), suggestions, did_you_mean, the site's pages; and check_catalogue
finds no difference. Through a streaming replica too, when one is configured.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import OperationalError, connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from catalog import consistency, vocabulary, writes
from catalog.models import CatalogueVersion, Genre, Movie, genre_key
from catalog.search import words
from tests.factories import UserFactory, token_client
from tests.support import waiting
from tests.support.reference import Row, reference_did_you_mean, reference_search

NAMES = st.sampled_from(
    [
        "Zanzibarque Nights",
        "Quorvex",
        "Heat",
        "Amélie",
        "War and Peace",
        "The War",
        "Blade Runner 2049",
        "Nights of Cabiria",
    ]
)
DIRECTORS = st.sampled_from(["Michael Mann", "Agnès Varda", "Ilse Vantongeren", "Akira Kurosawa"])
# "DRAMA" is "Drama" by key; "Drame" is another genre one letter away.
GENRE_NAMES = st.sampled_from(["Drama", "War", "Film-Noir", "Crime", "DRAMA", "Drame"])
POPULARITY = st.sampled_from([7.0, 70.5, 83.0, 100.0])
SCORES = st.sampled_from([0.0, 2.5, 8.75, 10.0])
PICK = st.integers(min_value=0, max_value=1_000)
PICKS = st.lists(PICK, min_size=1, max_size=3)
FAILING_PATHS = st.sampled_from(["api", "admin", "populate_db"])
PAGE_CARD = re.compile(r'<h3 class="card-title"><a href="/movies/(\d+)">')
LIMIT = 100


@dataclass
class Catalogue:
    """What the catalogue must hold: movies by id, genre names by key."""

    movies: dict[int, Row] = field(default_factory=dict)
    genres: dict[str, str] = field(default_factory=dict)

    def movie_named(self, name: str, director: str) -> int | None:
        for pk, row in self.movies.items():
            if (row.name, row.director) == (name, director):
                return pk
        return None

    def genre_names_for(self, names: list[str]) -> tuple[str, ...]:
        """The genres these names give a movie, creating the new ones by their first spelling."""
        chosen: dict[str, str] = {}
        for name in names:
            key = genre_key(name)
            self.genres.setdefault(key, name)
            chosen.setdefault(key, self.genres[key])
        return tuple(sorted(chosen.values()))

    def counts(self) -> dict[str, int]:
        counted = dict.fromkeys(self.genres.values(), 0)
        for row in self.movies.values():
            for name in row.genres:
                counted[name] += 1
        return counted

    def rename_genre(self, key: str, name: str) -> None:
        old = self.genres.pop(key)
        self.genres[genre_key(name)] = name
        self._retag(lambda genre: name if genre == old else genre)

    def delete_genres(self, keys: list[str]) -> None:
        gone = {self.genres.pop(key) for key in keys}
        self._retag(lambda genre: None if genre in gone else genre)

    def _retag(self, change) -> None:
        for pk, row in self.movies.items():
            genres = tuple(sorted(g for g in map(change, row.genres) if g is not None))
            self.movies[pk] = Row(
                pk, row.name, row.director, row.popularity, row.imdb_score, genres
            )


class WritePaths(RuleBasedStateMachine):
    through_replica = False

    def __init__(self) -> None:
        super().__init__()
        self.model = Catalogue()
        self.editor = token_client(UserFactory(editor=True))
        self.admin = Client(raise_request_exception=False)
        self.admin.force_login(UserFactory(superuser=True))
        self.reader = APIClient()
        self.step = 0
        # Each search's last ETag and answer, to send back after the next write.
        self.seen: dict[str, tuple[str, set[int]]] = {}

    @initialize()
    def empty_catalogue(self) -> None:
        writes.delete_movies(Movie.objects.values_list("pk", flat=True))
        writes.delete_genres(Genre.objects.values_list("pk", flat=True))
        cache.clear()

    # Picking what exists

    def movie(self, pick: int) -> int:
        return sorted(self.model.movies)[pick % len(self.model.movies)]

    def genre_key(self, pick: int) -> str:
        return sorted(self.model.genres)[pick % len(self.model.genres)]

    def genre_id(self, key: str) -> int:
        return Genre.objects.using("default").get(key=key).pk

    def has_movies(self) -> bool:
        return bool(self.model.movies)

    def has_genres(self) -> bool:
        return bool(self.model.genres)

    # The API

    @rule(
        name=NAMES,
        director=DIRECTORS,
        popularity=POPULARITY,
        score=SCORES,
        genres=st.lists(GENRE_NAMES, max_size=3),
    )
    def api_creates_a_movie(self, name, director, popularity, score, genres) -> None:
        body = {
            "name": name,
            "director": director,
            "popularity": popularity,
            "imdb_score": score,
            "genre": genres,
        }
        response = self.editor.post("/api/movies", body, format="json")
        if self.model.movie_named(name, director) is not None:
            assert response.status_code == 409, response.content
            return
        assert response.status_code == 201, response.content
        pk = response.json()["id"]
        self.model.movies[pk] = Row(
            pk, name, director, popularity, score, self.model.genre_names_for(genres)
        )

    @precondition(has_movies)
    @rule(
        pick=PICK,
        name=NAMES,
        director=DIRECTORS,
        popularity=POPULARITY,
        score=SCORES,
        genres=st.none() | st.lists(GENRE_NAMES, max_size=3),
    )
    def api_replaces_a_movie(self, pick, name, director, popularity, score, genres) -> None:
        pk = self.movie(pick)
        body = {"name": name, "director": director, "popularity": popularity, "imdb_score": score}
        if genres is not None:
            body["genre"] = genres
        response = self.editor.put(f"/api/movies/{pk}", body, format="json")
        self._changed(
            pk,
            response,
            name=name,
            director=director,
            popularity=popularity,
            imdb_score=score,
            genres=genres,
        )

    @precondition(has_movies)
    @rule(
        pick=PICK,
        change=st.one_of(
            st.fixed_dictionaries({"name": NAMES}),
            st.fixed_dictionaries({"director": DIRECTORS}),
            st.fixed_dictionaries({"imdb_score": SCORES}),
            st.fixed_dictionaries(
                {"popularity": POPULARITY, "genre": st.lists(GENRE_NAMES, max_size=2)}
            ),
        ),
    )
    def api_patches_a_movie(self, pick, change) -> None:
        pk = self.movie(pick)
        response = self.editor.patch(f"/api/movies/{pk}", change, format="json")
        fields = dict(change)
        genres = fields.pop("genre", None)
        self._changed(pk, response, genres=genres, **fields)

    def _changed(self, pk: int, response, *, genres, **fields) -> None:
        row = self.model.movies[pk]
        name, director = fields.get("name", row.name), fields.get("director", row.director)
        other = self.model.movie_named(name, director)
        if other not in (None, pk):
            assert response.status_code == 409, response.content
            return
        assert response.status_code == 200, response.content
        names = row.genres if genres is None else self.model.genre_names_for(genres)
        self.model.movies[pk] = Row(
            pk,
            name,
            director,
            fields.get("popularity", row.popularity),
            fields.get("imdb_score", row.imdb_score),
            names,
        )
        assert response.json()["name"] == name

    @precondition(has_movies)
    @rule(pick=PICK)
    def api_deletes_a_movie(self, pick) -> None:
        pk = self.movie(pick)
        assert self.editor.delete(f"/api/movies/{pk}").status_code == 204
        del self.model.movies[pk]

    @rule(name=GENRE_NAMES)
    def api_creates_a_genre(self, name) -> None:
        response = self.editor.post("/api/genres", {"name": name}, format="json")
        if genre_key(name) in self.model.genres:
            assert response.status_code == 409, response.content
            return
        assert response.status_code == 201, response.content
        self.model.genres[genre_key(name)] = name

    @precondition(has_genres)
    @rule(pick=PICK, name=GENRE_NAMES | st.sampled_from(["Melodrama", "War Film"]))
    def api_renames_a_genre(self, pick, name) -> None:
        key = self.genre_key(pick)
        response = self.editor.patch(
            f"/api/genres/{self.genre_id(key)}", {"name": name}, format="json"
        )
        if genre_key(name) in self.model.genres and genre_key(name) != key:
            assert response.status_code == 409, response.content
            return
        assert response.status_code == 200, response.content
        self.model.rename_genre(key, name)

    @precondition(has_genres)
    @rule(pick=PICK)
    def api_deletes_a_genre(self, pick) -> None:
        key = self.genre_key(pick)
        assert self.editor.delete(f"/api/genres/{self.genre_id(key)}").status_code == 204
        self.model.delete_genres([key])

    # The admin's forms

    def _admin_movie_form(
        self, name, director, popularity, score, genre_picks
    ) -> tuple[dict, tuple]:
        keys = sorted({self.genre_key(pick) for pick in genre_picks}) if self.model.genres else []
        form = {
            "name": name,
            "director": director,
            "popularity": str(popularity),
            "imdb_score": str(score),
            "genres": [self.genre_id(key) for key in keys],
        }
        return form, tuple(sorted(self.model.genres[key] for key in keys))

    @rule(
        name=NAMES,
        director=DIRECTORS,
        popularity=POPULARITY,
        score=SCORES,
        genres=st.lists(PICK, max_size=2),
    )
    def admin_adds_a_movie(self, name, director, popularity, score, genres) -> None:
        form, names = self._admin_movie_form(name, director, popularity, score, genres)
        response = self.admin.post("/admin/catalog/movie/add/", form)
        if self.model.movie_named(name, director) is not None:
            assert response.status_code == 200  # the form again, with the error
            return
        assert response.status_code == 302, response.content[:2000]
        pk = Movie.objects.using("default").get(name=name, director=director).pk
        self.model.movies[pk] = Row(pk, name, director, popularity, score, names)

    @precondition(has_movies)
    @rule(
        pick=PICK,
        name=NAMES,
        director=DIRECTORS,
        popularity=POPULARITY,
        score=SCORES,
        genres=st.lists(PICK, max_size=2),
    )
    def admin_changes_a_movie(self, pick, name, director, popularity, score, genres) -> None:
        pk = self.movie(pick)
        form, names = self._admin_movie_form(name, director, popularity, score, genres)
        response = self.admin.post(f"/admin/catalog/movie/{pk}/change/", form)
        if self.model.movie_named(name, director) not in (None, pk):
            assert response.status_code == 200
            return
        assert response.status_code == 302, response.content[:2000]
        self.model.movies[pk] = Row(pk, name, director, popularity, score, names)

    @precondition(has_movies)
    @rule(pick=PICK)
    def admin_deletes_a_movie(self, pick) -> None:
        pk = self.movie(pick)
        response = self.admin.post(f"/admin/catalog/movie/{pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        del self.model.movies[pk]

    @precondition(has_movies)
    @rule(picks=PICKS)
    def admin_deletes_movies_together(self, picks) -> None:
        chosen = sorted({self.movie(pick) for pick in picks})
        form = {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}
        assert self.admin.post("/admin/catalog/movie/", form).status_code == 302
        for pk in chosen:
            del self.model.movies[pk]

    @rule(name=GENRE_NAMES)
    def admin_adds_a_genre(self, name) -> None:
        response = self.admin.post("/admin/catalog/genre/add/", {"name": name})
        if genre_key(name) in self.model.genres:
            assert response.status_code == 200
            return
        assert response.status_code == 302
        self.model.genres[genre_key(name)] = name

    @precondition(has_genres)
    @rule(pick=PICK, name=GENRE_NAMES | st.just("Neo-Noir"))
    def admin_renames_a_genre(self, pick, name) -> None:
        key = self.genre_key(pick)
        response = self.admin.post(
            f"/admin/catalog/genre/{self.genre_id(key)}/change/", {"name": name}
        )
        if genre_key(name) in self.model.genres and genre_key(name) != key:
            assert response.status_code == 200
            return
        assert response.status_code == 302
        self.model.rename_genre(key, name)

    @precondition(has_genres)
    @rule(picks=PICKS)
    def admin_deletes_genres_together(self, picks) -> None:
        keys = sorted({self.genre_key(pick) for pick in picks})
        ids = [self.genre_id(key) for key in keys]
        if len(ids) == 1:
            response = self.admin.post(f"/admin/catalog/genre/{ids[0]}/delete/", {"post": "yes"})
        else:
            form = {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
            response = self.admin.post("/admin/catalog/genre/", form)
        assert response.status_code == 302
        self.model.delete_genres(keys)

    # Commands

    @rule(
        records=st.lists(
            st.tuples(NAMES, DIRECTORS, POPULARITY, SCORES, st.lists(GENRE_NAMES, max_size=2)),
            min_size=1,
            max_size=4,
            unique_by=lambda record: record[:2],
        )
    )
    def populate_db_creates_and_updates(self, records) -> None:
        self._import(records)
        for name, director, popularity, score, genres in records:
            pk = self.model.movie_named(name, director)
            if pk is None:
                pk = Movie.objects.using("default").get(name=name, director=director).pk
            names = self.model.genre_names_for(genres)
            self.model.movies[pk] = Row(pk, name, director, popularity, score, names)

    def _import(self, records) -> None:
        catalogue = [
            {"name": n, "director": d, "99popularity": p, "imdb_score": s, "genre": g}
            for n, d, p, s, g in records
        ]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "catalogue.json"
            path.write_text(json.dumps(catalogue), encoding="utf-8")
            call_command("populate_db", str(path), stdout=StringIO())

    @rule()
    def recount_genres(self) -> None:
        out = StringIO()
        call_command("recount_genres", stdout=out)
        assert "Repaired 0 derived values." in out.getvalue()

    # A write that fails half way, after its rows are written

    @precondition(has_movies)
    @rule(path=FAILING_PATHS, pick=PICK, name=NAMES, genres=st.lists(GENRE_NAMES, max_size=2))
    def a_write_fails_half_way(self, path, pick, name, genres) -> None:
        pk = self.movie(pick)
        row = self.model.movies[pk]
        injected = OperationalError("the database went away")
        with mock.patch.object(vocabulary, "shift", side_effect=injected):
            if path == "api":
                body = {"name": f"{name} Again", "genre": genres}
                response = self.editor.patch(f"/api/movies/{pk}", body, format="json")
                assert response.status_code == 503, response.content
            elif path == "admin":
                form, _ = self._admin_movie_form(f"{name} Again", row.director, 1.0, 1.0, [])
                response = self.admin.post(f"/admin/catalog/movie/{pk}/change/", form)
                assert response.status_code == 500
            else:
                with pytest.raises(CommandError, match="nothing was written"):
                    self._import([(f"{name} Again", row.director, 1.0, 1.0, genres)])

    # Every reader against the model

    @invariant()
    def every_reader_agrees_with_the_model(self) -> None:
        self.step += 1
        if self.through_replica:
            wait_for_the_replicas()
        self.reader.defaults["REMOTE_ADDR"] = f"10.0.{self.step // 250}.{self.step % 250}"
        rows = list(self.model.movies.values())
        self.assert_rows(rows)
        self.assert_details(rows)
        self.assert_genres()
        for query in self.queries(rows):
            self.assert_search(query, rows)
        for prefix in self.prefixes(rows):
            self.assert_suggestions(prefix, rows)
        self.assert_did_you_mean(rows)
        differences = [str(difference) for difference in consistency.check()]
        assert differences == []

    def assert_rows(self, rows: list[Row]) -> None:
        stored = Movie.objects.using("default").prefetch_related("genres")
        assert {sorted_genres(Row.of(movie)) for movie in stored} == set(map(sorted_genres, rows))
        genres = Genre.objects.using("default").values_list("key", "name")
        assert dict(genres) == self.model.genres

    def assert_details(self, rows: list[Row]) -> None:
        for row in rows:
            body = self.reader.get(f"/api/movies/{row.pk}").json()
            genres = tuple(sorted(genre["name"] for genre in body["genre"]))
            read = Row(
                row.pk,
                body["name"],
                body["director"],
                body["popularity"],
                body["imdb_score"],
                genres,
            )
            assert read == sorted_genres(row)

    def assert_genres(self) -> None:
        body = self.reader.get("/api/genres", {"limit": LIMIT}).json()
        assert {
            genre["name"]: genre["movie_count"] for genre in body["results"]
        } == self.model.counts()

    def queries(self, rows: list[Row]) -> list[str]:
        """Words of every name and director, each genre, numbers, and two-term searches."""
        found = {"nights", "war", "2049", "8.75", "70", "drama", "noir", "quorvex,mann", "the war"}
        for row in rows[:4]:
            found.add(words(row.name).split()[0])
            found.add(f"{words(row.director).split()[-1]} {row.imdb_score}")
        return sorted(found)

    def assert_search(self, query: str, rows: list[Row]) -> None:
        expected = reference_search(rows, query)
        response = self.reader.get("/api/movies", {"search": query, "limit": LIMIT})
        body = response.json()
        assert {movie["id"] for movie in body["results"]} == expected, query
        assert body["count"] == len(expected), query
        last = self.seen.get(query)
        if last is not None and last[1] != expected:
            # The answer changed since it was last read: its old ETag must not match.
            again = self.reader.get(
                "/api/movies", {"search": query, "limit": LIMIT}, HTTP_IF_NONE_MATCH=last[0]
            )
            assert again.status_code == 200, query
        self.seen[query] = (response.headers["ETag"], expected)
        page = self.reader.get("/", {"q": query})
        assert page.status_code == 200
        listed = {int(pk) for pk in PAGE_CARD.findall(page.content.decode())}
        shown = expected
        if not expected and body.get("did_you_mean"):
            # The page shows what the correction finds ("Showing results for").
            shown = reference_search(rows, body["did_you_mean"])
        if len(shown) <= 20:
            assert listed == shown, query

    def prefixes(self, rows: list[Row]) -> list[str]:
        return sorted({words(row.name).split()[-1][:3] for row in rows[:3]} | {"zan", "nig"})

    def assert_suggestions(self, prefix: str, rows: list[Row]) -> None:
        expected = {
            row.pk
            for row in rows
            if any(
                word.startswith(prefix)
                for word in f"{words(row.name)} {words(row.director)}".split()
            )
        }
        body = self.reader.get("/api/movies/suggest", {"q": prefix, "limit": 20}).json()
        assert {movie["id"] for movie in body["results"]} == expected, prefix

    def assert_did_you_mean(self, rows: list[Row]) -> None:
        for query in ("zanzibarqe", "quorvx", "vantongern", "cabria"):
            body = self.reader.get("/api/movies", {"search": query}).json()
            expected = reference_did_you_mean(query, rows, self.model.genres.values())
            assert body.get("did_you_mean") == expected, query


def sorted_genres(row: Row) -> Row:
    """The row with its genres in one order, whatever order a database lists them in."""
    return Row(
        row.pk, row.name, row.director, row.popularity, row.imdb_score, tuple(sorted(row.genres))
    )


def wait_for_the_replicas() -> None:
    """Until every replica has replayed the primary's latest version."""
    primary = CatalogueVersion.objects.using("default").get().version

    def caught_up() -> bool:
        for alias in connections:
            if alias.startswith("replica_"):
                versions = CatalogueVersion.objects.using(alias)
                if versions.values_list("version", flat=True).first() != primary:
                    return False
        return True

    assert waiting.eventually(caught_up, seconds=10)


SETTINGS = settings(
    max_examples=int(os.environ.get("WRITE_PATH_EXAMPLES", "12")),
    stateful_step_count=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.slow
@pytest.mark.django_db
def test_every_write_path_leaves_every_reader_agreeing_with_the_model():
    run_state_machine_as_test(WritePaths, settings=SETTINGS)


class WritePathsThroughTheReplica(WritePaths):
    through_replica = True


@pytest.mark.slow
@pytest.mark.requires_postgres
@pytest.mark.skipif(
    not os.environ.get("DATABASE_REPLICA_URLS"), reason="needs a streaming replica"
)
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_every_write_path_leaves_every_reader_of_the_replica_agreeing_with_the_model():
    run_state_machine_as_test(WritePathsThroughTheReplica, settings=SETTINGS)
