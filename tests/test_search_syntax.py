"""Search syntax: "phrases", -exclusions and field:terms, on the API, the admin and the page,
and against the brute-force reference on both databases."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalog import writes
from catalog.models import Genre, Movie
from catalog.search import (
    FIELD_SEPARATOR,
    InvalidSearch,
    Search,
    parse_clauses,
    phrase_pairs,
    search_movies,
    word_pairs,
)
from tests.factories import GenreFactory, MovieFactory
from tests.support.plans import plan_with_indexes
from tests.support.reference import reference_search


def typed(text: str) -> list[str]:
    return list(Search.parse(text).typed)


def found(query: str) -> list[str]:
    matches = search_movies(Movie.objects.all(), Search.parse(query))
    return sorted(matches.values_list("name", flat=True))


# Reading the syntax


def test_plain_terms_read_as_before():
    search = Search.parse("Drama,crime  70")
    assert search.plain
    assert search.typed == ("drama", "crime", "70")
    assert search.terms == ("crime", "drama", "70")  # the longest first


def test_a_phrase_is_its_words_between_quotes():
    assert typed('"The Dark,  Knight" rises') == ['"the dark knight"', "rises"]


def test_a_leading_minus_excludes():
    [clause] = parse_clauses("-batman")
    assert clause.excluded
    assert clause.text == "batman"


def test_a_field_prefix_limits_a_term_or_a_phrase():
    assert [(c.field, c.text, c.phrase) for c in parse_clauses('director:nolan name:"a b"')] == [
        ("director", "nolan", False),
        ("name", "a b", True),
    ]


def test_exclusion_and_field_combine():
    [clause] = parse_clauses('-genre:"science fiction"')
    assert (clause.excluded, clause.field, clause.text, clause.phrase) == (
        True,
        "genre",
        "science fiction",
        True,
    )


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ('"dark knight', ['"dark', "knight"]),  # a quote never closed
        ("- war", ["-", "war"]),  # a lone minus
        ("director: nolan", ["director:", "nolan"]),  # a field with nothing after
        ('"" x', ['""', "x"]),  # a phrase without a word
        ('a"b c"', ['a"b', 'c"']),  # quotes inside terms
        ("-", ["-"]),
    ],
)
def test_what_does_not_read_as_syntax_is_a_term_as_typed(text, terms):
    search = Search.parse(text)
    assert search.typed == tuple(terms)
    assert search.plain


def test_an_unknown_field_is_refused_naming_it_and_the_known_ones():
    with pytest.raises(InvalidSearch) as refused:
        Search.parse("re:zero")
    message = str(refused.value)
    assert "'re'" in message
    assert all(field in message for field in ("name:", "director:", "genre:"))
    assert '"re:zero"' in message  # how to search for it as typed


def test_relevance_compares_names_with_what_is_sought_in_names_only():
    search = Search.parse('"dark knight" -batman director:nolan name:rises')
    assert search.words == "dark knight rises"
    assert set(search.name_terms) == {"dark", "knight", "rises"}
    # What every match holds, for the response cache's scopes: not what is excluded.
    assert set(search.terms) == {"dark", "knight", "nolan", "rises"}


def test_the_typed_form_reads_back_as_the_same_search():
    search = Search.parse('-"Dark Knight" director:NOLAN "x')
    assert Search.parse(" ".join(search.typed)).clauses == search.clauses


# Finding movies


@pytest.fixture
def knights(db):
    drama, scifi = GenreFactory(name="Drama"), GenreFactory(name="Science Fiction")
    MovieFactory(name="The Dark Knight", director="Christopher Nolan", genres=[drama])
    MovieFactory(name="The Dark Knight Rises", director="Christopher Nolan", genres=[drama])
    MovieFactory(name="Knight and Dark", director="Knight Dark", genres=[scifi])
    MovieFactory(name="Darkness: Knights", director="Batman Nolan", genres=[scifi])
    MovieFactory(name="Godfather: Part II", director="Francis Ford Coppola", genres=[drama])


def test_a_phrase_needs_its_words_adjacent_and_in_order(knights):
    assert found('"dark knight"') == ["The Dark Knight", "The Dark Knight Rises"]
    assert found('"knight dark"') == ["Knight and Dark"]  # its director


def test_a_phrase_matches_whole_words_across_punctuation(knights):
    assert found('"godfather part"') == ["Godfather: Part II"]
    assert found('"dark knigh"') == []


def test_a_phrase_never_spans_two_fields(knights):
    # "Knight and Dark" is directed by "Knight Dark": "dark knight" spans name and director.
    assert found('"and dark knight"') == []


def test_an_exclusion_leaves_out_movies_with_the_term_anywhere(knights):
    assert found("dark -nolan") == ["Knight and Dark"]
    assert found("-drama") == ["Darkness: Knights", "Knight and Dark"]


def test_a_field_term_is_sought_in_that_field_only(knights):
    assert found("director:knight") == ["Knight and Dark"]
    assert found("name:nolan") == []
    assert found("genre:fiction") == ["Darkness: Knights", "Knight and Dark"]
    assert found('genre:"science fiction" name:"knight and"') == ["Knight and Dark"]


def test_a_director_phrase_is_sought_in_the_director(knights):
    assert found('director:"christopher nolan"') == ["The Dark Knight", "The Dark Knight Rises"]
    assert found('director:"nolan christopher"') == []


def test_an_excluded_field_term(knights):
    assert found("knight -director:nolan") == ["Knight and Dark"]


# Found through the pairs of adjacent words


def test_word_pairs_are_the_adjacent_words_of_each_field():
    document = FIELD_SEPARATOR.join(["the godfather: part ii", "coppola", "9.5", "9.0"])
    assert word_pairs(document).split(" ") == [
        "9/0", "9/5", "godfather/part", "part/ii", "the/godfather",
    ]  # fmt: skip
    assert word_pairs("dark\nknight") == ""  # never across two fields


LINE_WORDS = st.sampled_from(["the", "at", "ü", "7", "x_y", "and"])
LINE = st.lists(
    st.tuples(LINE_WORDS, st.sampled_from([" ", ": ", "-", " — ", "...", ",", "\t"])), max_size=6
).map(lambda pieces: "".join(word + between for word, between in pieces))


@hypothesis_settings(max_examples=300, derandomize=True)
@given(line=LINE, phrase=st.lists(LINE_WORDS, min_size=2, max_size=3))
def test_a_movie_with_a_phrase_holds_its_pairs(line, phrase):
    [clause] = parse_clauses(f'"{" ".join(phrase)}"')
    if clause.in_line(line):
        held = set(word_pairs(f"{line}\nx").split(" "))
        assert set(phrase_pairs(clause)) <= held, (line, phrase)


@pytest.mark.requires_postgres
def test_postgresql_finds_a_phrase_through_its_pairs_not_its_common_words(knights):
    phrase = search_movies(Movie.objects.all(), Search.parse('"the dark knight"'))
    plan = plan_with_indexes(phrase)
    assert "movie_word_pairs" in plan
    assert "trgm" not in plan
    assert found('"the dark knight"') == ["The Dark Knight", "The Dark Knight Rises"]


# Through the API, the admin and the page


def test_the_api_refuses_an_unknown_field_naming_the_search(client, knights):
    response = client.get("/api/movies", {"search": "year:1999"})
    assert response.status_code == 400
    assert "'year'" in response.json()["errors"]["search"][0]


def test_the_api_ranks_by_what_is_sought_in_names(client, knights):
    response = client.get("/api/movies", {"search": "knight -rises", "ordering": "relevance"})
    names = [movie["name"] for movie in response.json()["results"]]
    # The name that is the query's words first: "-rises" is not one of them.
    assert names[0] == "Knight and Dark"


def test_a_search_of_exclusions_alone_lists_by_popularity(client, knights):
    response = client.get("/api/movies", {"search": "-knight"})
    assert [movie["name"] for movie in response.json()["results"]] == ["Godfather: Part II"]


def test_did_you_mean_keeps_the_syntax_and_never_corrects_an_exclusion(client, knights):
    response = client.get("/api/movies", {"search": 'director:"christopher nolen" -godfathr'})
    assert response.json()["did_you_mean"] == 'director:"christopher nolan" -godfathr'


def test_the_admin_search_reads_the_syntax(admin_client, knights):
    response = admin_client.get(reverse("admin:catalog_movie_changelist"), {"q": "dark -nolan"})
    assert response.status_code == 200
    shown = [movie.name for movie in response.context["cl"].result_list]
    assert shown == ["Knight and Dark"]


def test_the_page_reads_the_syntax(client, knights):
    response = client.get("/", {"q": 'director:"christopher nolan" -rises'})
    assert response.status_code == 200
    assert b"The Dark Knight" in response.content
    assert b"The Dark Knight Rises" not in response.content


def test_the_page_explains_an_unknown_field(client, knights):
    response = client.get("/", {"q": "year:1999"})
    assert response.status_code == 400
    assert b"year" in response.content


# Against the reference

WORDS = ["dark", "knight", "the", "war", "Amélie", "nolan", "a-b", "7", "drama"]
TEXT = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
PUNCTUATED = st.tuples(TEXT, st.sampled_from([" ", ": ", ", ", "-", " — "]), TEXT).map("".join)
CLAUSE = st.tuples(
    st.sampled_from(["", "", "-"]),
    st.sampled_from(["", "", "name:", "director:", "genre:"]),
    st.one_of(
        st.sampled_from(WORDS + ["ark", "n", "-", '"x', "knight:"]),
        TEXT.map(lambda text: f'"{text}"'),
    ),
).map("".join)
QUERY = st.lists(CLAUSE, min_size=1, max_size=4).map(" ".join)


@pytest.mark.slow
@pytest.mark.django_db
@hypothesis_settings(max_examples=120, deadline=None, derandomize=True)
@given(
    movies=st.lists(st.tuples(PUNCTUATED, TEXT, st.sampled_from(WORDS)), min_size=1, max_size=6),
    queries=st.lists(QUERY, min_size=1, max_size=5),
)
def test_syntax_finds_what_the_reference_finds(movies, queries):
    writes.delete_movies(Movie.objects.values_list("pk", flat=True))
    writes.delete_genres(Genre.objects.values_list("pk", flat=True))
    for number, (name, director, genre) in enumerate(movies):
        writes.create_movie(
            name=name,
            director=f"{director} {number}",
            popularity=7.0,
            imdb_score=7.0,
            genres=[genre],
        )
    rows = list(Movie.objects.prefetch_related("genres"))
    for query in queries:
        matches = search_movies(Movie.objects.all(), Search.parse(query))
        assert set(matches.values_list("pk", flat=True)) == reference_search(rows, query), query


# Any string

PIECES = st.sampled_from(['"', "-", ":", ",", " ", "name:", "director:", "genre:", "x:", "\x00"])
ANY_TEXT = st.lists(
    st.one_of(PIECES, st.text(max_size=4), st.sampled_from(WORDS)), max_size=12
).map("".join)


@pytest.mark.django_db
@hypothesis_settings(max_examples=200, deadline=None, derandomize=True)
@given(text=ANY_TEXT)
def test_no_search_is_a_server_error(text):
    client = Client()
    if not Movie.objects.exists():
        MovieFactory(name='The "Dark" Knight: -Rises', director="Christopher Nolan")
    for path, parameter in (("/api/movies", "search"), ("/", "q")):
        response = client.get(path, {parameter: text})
        assert response.status_code in (200, 400), (path, text)
