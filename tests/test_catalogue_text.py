"""One rule for catalogue text on every write path: API, admin and importer, on either database.

Text is stored normalised, invisible characters are refused naming the field,
genres are one by their stored key, and a movie too large to index is a clear
refusal rather than a database error.
"""

import pytest
from django.core.management import CommandError, call_command

from catalog import writes
from catalog.importer import CatalogueError
from catalog.models import Genre, Movie
from catalog.search import MAX_DOCUMENT_BYTES, search_document
from catalog.writes import import_records
from tests.factories import GenreFactory, MovieFactory, record
from tests.support.reference import real_movie_counts, stored_movie_counts

pytestmark = pytest.mark.django_db

FOUR_BYTES = "\U0001f3ac"  # a clapper board, four bytes in UTF-8


def four_byte_text(length: int, start: int = 0) -> str:
    """Distinct four-byte characters: text that PostgreSQL cannot compress into an index row."""
    return "".join(chr(0x1F300 + (start + n) % 0x300) for n in range(length))


def ascii_text(length: int, seed: int) -> str:
    """Letters in no pattern, that compress as little as real text."""
    return "".join(
        "abcdefghijklmnopqrstuvwxyz"[(seed * 7 + n * n * 13 + n) % 26] for n in range(length)
    )


MOVIE = {"name": "Heat", "director": "Michael Mann", "popularity": 80.0, "imdb_score": 8.3}


# Look-alikes are one movie


@pytest.mark.parametrize(
    "look_alike",
    ["Ame\u0301lie", " Amélie ", "Amélie\u00a0", "Amélie"],
)
def test_look_alike_names_are_the_same_movie_through_the_api(editor_client, look_alike):
    first = editor_client.post("/api/movies", {**MOVIE, "name": "Amélie"}, format="json")
    assert first.status_code == 201
    again = editor_client.post("/api/movies", {**MOVIE, "name": look_alike}, format="json")
    assert again.status_code == 409
    assert Movie.objects.get().name == "Amélie"


def test_inner_whitespace_is_collapsed_through_the_api(editor_client):
    created = editor_client.post(
        "/api/movies",
        {**MOVIE, "name": "The  Third\tMan", "genre": [" Film  Noir "]},
        format="json",
    )
    assert created.json()["name"] == "The Third Man"
    assert created.json()["genre"][0]["name"] == "Film Noir"


@pytest.mark.parametrize(("field", "value"), [("name", "Am\u200belie"), ("director", "Mann\x01")])
def test_invisible_characters_are_a_400_naming_the_field(editor_client, field, value):
    response = editor_client.post("/api/movies", {**MOVIE, field: value}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}
    assert "U+" in response.json()["detail"]
    assert not Movie.objects.exists()


def test_an_invisible_genre_name_is_a_400_naming_genre(editor_client):
    response = editor_client.post(
        "/api/movies", {**MOVIE, "genre": ["Dra\u200bma"]}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"genre"}
    assert not Genre.objects.exists()


def test_look_alikes_are_one_movie_in_the_importer():
    result = import_records(
        records=[
            record(name="Ame\u0301lie", director="Jean-Pierre  Jeunet"),
            record(name="Amélie", director="Jean-Pierre Jeunet"),
        ]
    )
    assert (result.created, Movie.objects.get().name) == (1, "Amélie")


def test_the_importer_refuses_invisible_characters_naming_record_and_field():
    with pytest.raises(CatalogueError, match=r'record 1: field "name": .*U\+200B'):
        import_records(records=[record(name="Fine"), record(name="Am\u200belie")])
    with pytest.raises(CatalogueError, match=r'record 0: field "genre": .*U\+0000'):
        import_records(records=[record(genre=["Drama\x00"])])
    assert not Movie.objects.exists()


# One case folding for every path


@pytest.mark.parametrize(
    ("existing", "sent"),
    [("i", "İ"), ("İstanbul", "istanbul"), ("straße", "STRASSE"), ("σ", "ς"), ("ﬁlm", "film")],
)
def test_genres_that_fold_differently_in_the_database_are_no_500(editor_client, existing, sent):
    writes.create_genre(name=existing)
    response = editor_client.post(
        "/api/movies", {**MOVIE, "genre": [sent, existing]}, format="json"
    )
    assert response.status_code == 201, response.content
    listed = editor_client.get(f"/api/movies?genre={sent}")
    assert listed.status_code == 200
    assert real_movie_counts() == stored_movie_counts()


def test_two_names_of_one_genre_in_one_request(editor_client):
    response = editor_client.post(
        "/api/movies", {**MOVIE, "genre": ["İstanbul", "istanbul"]}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(("existing", "sent"), [("i", "İ"), ("straße", "STRASSE"), ("σ", "ς")])
def test_the_importer_folds_genres_as_the_api_does(existing, sent):
    writes.create_genre(name=existing)
    import_records(records=[record(genre=[sent, existing, sent.upper()])])
    assert Genre.objects.count() == Genre.objects.values("key").distinct().count()
    assert real_movie_counts() == stored_movie_counts()


def test_renaming_a_genre_to_another_genres_key_is_a_409(editor_client):
    GenreFactory(name="Straße")
    other = GenreFactory(name="Road")
    response = editor_client.patch(f"/api/genres/{other.pk}", {"name": "STRASSE"}, format="json")
    assert response.status_code == 409


def test_the_genre_filter_matches_by_key(client):
    MovieFactory(name="Stadt", genres=[GenreFactory(name="Straße")])
    assert client.get("/api/movies?genre=STRASSE").json()["count"] == 1
    assert client.get("/api/movies?genre=strasse,STRASSE").json()["count"] == 1


@pytest.mark.parametrize("director", ["émile", "ÉMILE", "Emile"])
def test_the_director_filter_ignores_case_and_accents_on_every_database(client, director):
    MovieFactory(name="Z", director="Émile Cohl")
    MovieFactory(name="Y", director="Someone Else", genres=[GenreFactory(name="Emile")])
    response = client.get("/api/movies", {"director": director})
    assert [movie["name"] for movie in response.json()["results"]] == ["Z"]


# Movies too large to index

# 18 letters once normalised for search: the only kind of text that can
# outgrow the index.
EXPANDS = "\ufdfa" * 100


def test_documented_limits_always_fit_unless_normalisation_expands_the_text():
    document = search_document(
        name=four_byte_text(255),
        director=four_byte_text(255, start=255),
        popularity=99.99999999999999,
        imdb_score=9.999999999999998,
    )
    assert len(document.encode()) <= MAX_DOCUMENT_BYTES


def test_a_movie_too_large_to_index_is_a_400_naming_the_field(editor_client):
    response = editor_client.post("/api/movies", {**MOVIE, "name": EXPANDS}, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {"name"}
    assert "bytes" in response.json()["detail"]
    assert not Movie.objects.exists()


def test_long_multibyte_names_directors_and_genres_are_stored(editor_client):
    movie = {
        **MOVIE,
        "name": four_byte_text(255),
        "director": four_byte_text(255, start=255),
        "genre": [four_byte_text(100, start=600 + 100 * n) for n in range(20)],
    }
    response = editor_client.post("/api/movies", movie, format="json")
    assert response.status_code == 201, response.content
    found = editor_client.get("/api/movies", {"search": four_byte_text(100, start=2500)})
    assert found.json()["count"] == 1


def test_a_genre_of_any_name_can_be_renamed_and_given_to_any_movie(editor_client):
    genre = GenreFactory(name="g")
    MovieFactory(name=FOUR_BYTES * 255, director=FOUR_BYTES * 255, genres=[genre])
    response = editor_client.patch(f"/api/genres/{genre.pk}", {"name": EXPANDS}, format="json")
    assert response.status_code == 200, response.content
    assert editor_client.get("/api/movies", {"search": "\ufdfa"}).json()["count"] == 1


def test_the_importer_refuses_a_movie_too_large_to_index_naming_the_record(write_catalogue):
    path = write_catalogue([record(), record(name="Big", director=EXPANDS)])
    with pytest.raises(CommandError, match=r'record 1: field "director": .*bytes'):
        call_command("populate_db", str(path), verbosity=0)
    assert not Movie.objects.exists()


def test_the_importer_stores_the_largest_ascii_movies():
    names = [ascii_text(100, seed=n) for n in range(20)]
    largest = record(name=ascii_text(255, seed=21), director=ascii_text(255, seed=22), genre=names)
    import_records(records=[largest])
    assert Movie.objects.get().genres.count() == 20


def test_the_api_stores_the_largest_ascii_movies(editor_client):
    names = [ascii_text(100, seed=n) for n in range(20)]
    movie = {**MOVIE, "name": ascii_text(255, seed=21), "director": ascii_text(255, seed=22)}
    response = editor_client.post("/api/movies", {**movie, "genre": names}, format="json")
    assert response.status_code == 201, response.content


def test_the_importer_refuses_more_than_twenty_genres():
    with pytest.raises(CatalogueError, match='record 0: field "genre" has more than 20 names'):
        import_records(records=[record(genre=[f"G{n}" for n in range(21)])])


@pytest.mark.parametrize("field", ["name", "director"])
def test_control_characters_at_either_end_are_refused_not_trimmed(editor_client, field):
    response = editor_client.post(
        "/api/movies", {**MOVIE, field: "\u001fHeat\u001c"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}
