import random
from io import StringIO

import pytest
from django.core.management import call_command

from catalog import writes
from catalog.models import Genre, Movie
from catalog.search import (
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    QUERY_TOO_LONG,
    TOO_MANY_TERMS,
    InvalidSearch,
    Search,
    digit_pairs,
    digit_pieces_to_narrow,
    format_number,
    is_digit_pair,
    normalise,
    search_document,
    search_movies,
    split_terms,
    word_pairs,
)
from tests.factories import GenreFactory, MovieFactory, record
from tests.support.plans import plan_with_indexes
from tests.support.reference import movie_fields, reference_search


def search_ids(query: str) -> set[int]:
    return set(
        search_movies(Movie.objects.all(), Search.parse(query)).values_list("pk", flat=True)
    )


# Pure functions


def test_terms_are_split_at_whitespace_and_commas():
    assert split_terms("the,john  70,\t7") == ["john", "the", "70", "7"]


def test_terms_are_normalised_and_distinct():
    assert split_terms("War war WAR") == ["war"]


def test_empty_query_has_no_terms():
    assert split_terms(" , ,, ") == []


def test_control_characters_separate_terms():
    assert split_terms("war\x00drama") == ["drama", "war"]


def test_overlong_query_is_refused():
    with pytest.raises(InvalidSearch, match=QUERY_TOO_LONG):
        split_terms("a" * (MAX_QUERY_LENGTH + 1))


def test_too_many_terms_are_refused():
    with pytest.raises(InvalidSearch, match=TOO_MANY_TERMS):
        split_terms(",".join(str(n) for n in range(MAX_TERMS + 1)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Amélie", "amelie"), ("SCI-FI", "sci-fi"), ("Ôtomo", "otomo"), ("Straße", "strasse")],
)
def test_normalise_folds_case_and_accents(text, expected):
    assert normalise(text) == expected


def test_numbers_are_searched_in_their_shortest_exact_form():
    assert [format_number(70), format_number(8.5), format_number(7.25)] == ["70.0", "8.5", "7.25"]


def test_search_document_has_one_field_per_line_and_no_genres():
    document = search_document(
        name="Amélie", director="Jean-Pierre Jeunet", popularity=83.0, imdb_score=8.3
    )
    assert document.split("\n") == ["amelie", "jean-pierre jeunet", "83.0", "8.3"]


# Queries


@pytest.mark.django_db
def test_every_term_must_match():
    drama, crime = GenreFactory(name="Drama"), GenreFactory(name="Crime")
    both = MovieFactory(genres=[drama, crime])
    MovieFactory(genres=[drama])
    assert search_ids("drama,crime") == {both.pk}


@pytest.mark.django_db
def test_movie_with_two_matching_genres_appears_once():
    movie = MovieFactory(genres=[GenreFactory(name="War"), GenreFactory(name="Warfare")])
    assert list(
        search_movies(Movie.objects.all(), Search.parse("war")).values_list("pk", flat=True)
    ) == [movie.pk]


@pytest.mark.django_db
def test_a_term_never_matches_across_two_fields():
    MovieFactory(name="Ab", director="Cd")
    assert search_ids("bc") == set()


@pytest.mark.django_db
def test_numbers_match_as_text():
    seventy = MovieFactory(popularity=70.0, imdb_score=8.5)
    assert search_ids("70") == {seventy.pk}
    assert search_ids("8.5") == {seventy.pk}


@pytest.mark.django_db
def test_accents_and_case_are_ignored_both_ways():
    amelie = MovieFactory(name="Amélie", genres=[GenreFactory(name="Sci-Fi")])
    assert search_ids("amelie") == search_ids("AMÉLIE") == search_ids("SCI-FI") == {amelie.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("wildcard", ["%", "_", "\\"])
def test_like_wildcards_match_literally(wildcard):
    literal = MovieFactory(name=f"100{wildcard} Pure")
    MovieFactory(name="Plain")
    assert search_ids(wildcard) == {literal.pk}


@pytest.mark.django_db
def test_quotes_and_sql_match_literally():
    quoted = MovieFactory(name="Don't Look Now")
    assert search_ids("don't") == {quoted.pk}
    assert search_ids("'; DROP TABLE catalog_movie; --") == set()
    assert Movie.objects.count() == 1


# Every write keeps search_text right


@pytest.mark.django_db
def test_changing_a_movie_updates_its_text():
    movie = MovieFactory(name="Old Title")
    writes.update_movie(movie.pk, name="New Title")
    assert search_ids("new") == {movie.pk}
    assert search_ids("old") == set()


@pytest.mark.django_db
def test_changing_a_movies_genres_updates_what_finds_it():
    western, noir = GenreFactory(name="Western"), GenreFactory(name="Film-Noir")
    movie = MovieFactory()
    writes.update_movie(movie.pk, genres=["Western"])
    assert search_ids("western") == {movie.pk}
    writes.update_movie(movie.pk, genres=["Film-Noir"])
    assert (search_ids("western"), search_ids("noir")) == (set(), {movie.pk})
    writes.update_movie(movie.pk, genres=[])
    assert search_ids("noir") == set()
    assert {western.pk, noir.pk} == set(Genre.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_renaming_a_genre_updates_its_movies():
    genre = GenreFactory(name="Sci-Fi")
    movie = MovieFactory(genres=[genre])
    writes.rename_genre(genre.pk, name="Science Fiction")
    assert search_ids("science") == {movie.pk}
    assert search_ids("sci-fi") == set()


@pytest.mark.django_db
def test_deleting_a_genre_updates_its_movies():
    genre = GenreFactory(name="Documentary")
    movie = MovieFactory(genres=[genre])
    writes.delete_genre(genre.pk)
    assert search_ids("documentary") == set()
    assert Movie.objects.get(pk=movie.pk).search_text.count("\n") == 3


# Terms of two characters with a digit, found through digit_pairs


def test_digit_pairs_are_the_pieces_of_two_characters_holding_a_digit():
    pieces = digit_pairs("se7en 1970s\nx\n70.5\n8.0").split(" ")
    assert pieces == [".0", ".5", "0.", "0s", "19", "70", "7e", "8.", "97", "e7"]
    # No term holds whitespace, a comma or a control character: nor do the pieces.
    assert digit_pairs("a 7,b\n7\t") == ""


def test_a_two_character_term_with_a_digit_is_in_the_text_exactly_when_a_piece():
    rng = random.Random(11)
    alphabet = "07a. ,\n-é"
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        pieces = set(digit_pairs(text).split(" "))
        for term in {a + b for a in alphabet for b in alphabet}:
            if is_digit_pair(term) and not set(term) & set(" ,\n"):
                assert (term in text) == (term in pieces), (text, term)


def test_a_number_with_punctuation_has_digit_pieces_to_narrow_its_trigrams():
    assert digit_pieces_to_narrow("1.2") == [".2", "1."]
    assert digit_pieces_to_narrow("3:10") == ["10", "3:", ":1"]
    # Letters and digits alone have trigrams enough; no digit, no pieces.
    assert digit_pieces_to_narrow("1999") == digit_pieces_to_narrow("se7en") == []
    assert digit_pieces_to_narrow("e.t.") == digit_pieces_to_narrow("sci-fi") == []


@pytest.mark.django_db
def test_two_character_terms_with_a_digit_find_what_the_reference_finds():
    MovieFactory(name="Se7en", director="David Fincher", popularity=70.5, imdb_score=8.6)
    MovieFactory(name="The 1970s", director="Ann 7", popularity=12.0, imdb_score=7.0)
    MovieFactory(name="Heat", director="Michael Mann", popularity=83.0, imdb_score=8.3)
    movies = list(Movie.objects.prefetch_related("genres"))
    for query in ["70", "e7", "0s", ".5", "7.", "n 7", "the,70", "3.", "70,e7", "99", "7"]:
        assert search_ids(query) == reference_search(movies, query), query


@pytest.mark.django_db
def test_every_write_keeps_the_digit_and_word_pairs_of_the_text(
    editor_client, admin_client, write_catalogue
):
    def pairs_follow_the_text() -> bool:
        rows = Movie.objects.values_list("search_text", "digit_pairs", "word_pairs")
        return all(
            (digits, words) == (digit_pairs(text), word_pairs(text))
            for text, digits, words in rows
        )

    movie = MovieFactory(name="Heat", director="Michael Mann", popularity=83.0)
    assert pairs_follow_the_text()
    writes.update_movie(movie.pk, popularity=70.5)
    assert pairs_follow_the_text()
    assert search_ids("70") == {movie.pk}
    patched = editor_client.patch(f"/api/movies/{movie.pk}", {"imdb_score": 9.1}, format="json")
    assert patched.status_code == 200
    assert pairs_follow_the_text()
    form = {"name": "Heat 2", "director": "Michael Mann", "popularity": "7", "imdb_score": "1"}
    changed = admin_client.post(f"/admin/catalog/movie/{movie.pk}/change/", form)
    assert changed.status_code == 302
    assert pairs_follow_the_text()
    assert search_ids('"heat 2"') == {movie.pk}
    records = [
        record(name="Heat 2", director="Michael Mann", popularity=45.5, score=4.5),
        record(name="Ran", director="Akira Kurosawa", popularity=82.0, score=8.2),
    ]
    call_command("populate_db", str(write_catalogue(records)), stdout=StringIO())
    assert pairs_follow_the_text()
    assert search_ids("45") == {movie.pk}
    assert search_ids("82") == {Movie.objects.get(name="Ran").pk}


@pytest.mark.requires_postgres
@pytest.mark.django_db
def test_postgresql_finds_a_two_character_term_with_a_digit_through_its_index():
    MovieFactory(name="The Johnsons", director="John Ford", popularity=70.5)
    # The term alone: with others, the planner may rightly prefer the trigram
    # index for them, as it weighs a few rows of a test's table.
    seventy = search_movies(Movie.objects.all(), Search.parse("70"))
    assert "movie_digit_pairs" in plan_with_indexes(seventy)
    found = search_movies(Movie.objects.all(), Search.parse("the,john,70,7"))
    assert list(found.values_list("name", flat=True)) == ["The Johnsons"]


# The reference


def sample_queries(movies: list[Movie], count: int, seed: int = 20261127) -> list[str]:
    """Substrings of real fields, numbers, genres and noise, alone and combined."""
    rng = random.Random(seed)
    pieces = ["the", "john", "70", "7", "war", "titanic", "james", "0", ".", "-", "zzz", "é"]
    for movie in movies:
        for field in movie_fields(movie):
            start = rng.randrange(len(field))
            pieces.append(field[start : start + rng.randint(1, 6)].strip(" ,") or "a")
    queries = []
    for _ in range(count):
        terms = rng.sample(pieces, rng.choice([1, 1, 2, 2, 3, 4, 5]))
        separator = rng.choice([",", " ", ", "])
        query = separator.join(terms)
        queries.append(query.upper() if rng.random() < 0.2 else query)
    return queries


@pytest.mark.slow
@pytest.mark.django_db
def test_search_agrees_with_the_reference_over_the_whole_catalogue(fixture_catalogue):
    movies = list(Movie.objects.prefetch_related("genres"))
    assert len(movies) >= 250
    for query in sample_queries(movies, count=400):
        assert search_ids(query) == reference_search(movies, query), query


@pytest.mark.slow
@pytest.mark.django_db
def test_search_agrees_with_the_reference_on_the_legacy_catalogue(seed_path):
    from catalog.writes import import_file

    import_file(path=seed_path)
    movies = list(Movie.objects.prefetch_related("genres"))
    for query in sample_queries(movies, count=200, seed=7):
        assert search_ids(query) == reference_search(movies, query), query
    assert Genre.objects.count() == 28


@pytest.mark.django_db
def test_recount_genres_repairs_digit_pairs_written_behind_the_writes():
    seventy = MovieFactory(name="Heat", popularity=70.5)
    eighty = MovieFactory(name="Ran", popularity=80.5)
    Movie.objects.filter(pk=seventy.pk).update(digit_pairs="")  # as code before the column
    out = StringIO()
    call_command("recount_genres", stdout=out)
    assert "Repaired 1 derived values." in out.getvalue()
    assert Movie.objects.get(pk=seventy.pk).digit_pairs == digit_pairs(seventy.search_text)
    assert search_ids("70") == {seventy.pk}
    assert search_ids("80") == {eighty.pk}
