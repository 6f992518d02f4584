"""Suggestions as someone types: /api/movies/suggest."""

from __future__ import annotations

import random

import pytest
from rapidfuzz.distance import OSA

from catalog import suggestions, vocabulary, writes
from catalog.models import Movie
from catalog.search import (
    NAME_BEGINS_WITH_QUERY,
    NAME_IS_QUERY,
    OTHER_MATCH,
    line_words,
    relevance_tier,
    words,
)
from catalog.suggestions import InvalidSuggestion, typed_words
from catalog.vocabulary import allowed_edits
from tests.factories import MovieFactory
from tests.support.answers import names

SUGGEST = "/api/movies/suggest"


def test_typed_words_fold_case_accents_and_punctuation():
    assert typed_words("  The GODFÀTHER: pa") == ["the", "godfather", "pa"]
    assert typed_words(" ,.; ") == []


@pytest.mark.parametrize("query", ["x" * 201, " ".join(["w"] * 11)])
def test_queries_past_the_limits_are_refused(query):
    with pytest.raises(InvalidSuggestion):
        typed_words(query)


@pytest.mark.django_db
def test_a_name_beginning_with_what_is_typed_comes_first(client):
    MovieFactory(name="A Godfathers Tale", popularity=99)
    MovieFactory(name="The Godfather", popularity=50)
    MovieFactory(name="Godfather Returns", popularity=90)
    MovieFactory(name="Heat", popularity=80)
    assert names(client.get(SUGGEST, {"q": "godfather"})) == [
        "Godfather Returns",  # begins with it
        "The Godfather",  # holds it whole
        "A Godfathers Tale",  # holds it as a prefix only
    ]
    assert names(client.get(SUGGEST, {"q": "the godf"})) == ["The Godfather"]


@pytest.mark.django_db
def test_earlier_words_match_whole_and_the_last_as_a_prefix(client):
    MovieFactory(name="Godfather", popularity=50)
    MovieFactory(name="God Fathers Day", popularity=40)
    assert names(client.get(SUGGEST, {"q": "god father"})) == ["God Fathers Day"]
    assert names(client.get(SUGGEST, {"q": "go"})) == ["Godfather", "God Fathers Day"]


@pytest.mark.django_db
def test_a_typo_finds_the_word_but_exact_matches_come_first(client):
    MovieFactory(name="The Godfather", popularity=90)
    MovieFactory(name="Godfater Island", popularity=10)
    assert names(client.get(SUGGEST, {"q": "godfater"})) == ["Godfater Island", "The Godfather"]
    assert names(client.get(SUGGEST, {"q": "the godfahter"})) == ["The Godfather"]


@pytest.mark.django_db
def test_numbers_and_short_words_match_exactly(client):
    MovieFactory(name="2001 A Space Odyssey")
    MovieFactory(name="Heat")
    assert names(client.get(SUGGEST, {"q": "2002 a space"})) == []
    assert names(client.get(SUGGEST, {"q": "2001 a space"})) == ["2001 A Space Odyssey"]
    assert names(client.get(SUGGEST, {"q": "hoat"})) == []


@pytest.mark.django_db
def test_directors_are_suggested_too(client):
    MovieFactory(name="Jaws", director="Steven Spielberg")
    assert names(client.get(SUGGEST, {"q": "spielb"})) == ["Jaws"]
    assert names(client.get(SUGGEST, {"q": "jaws spielberg"})) == ["Jaws"]


@pytest.mark.django_db
def test_the_answer_shape_and_its_limit(client):
    MovieFactory.create_batch(12, director="Same Director")
    body = client.get(SUGGEST, {"q": "same"}).json()
    assert body["query"] == "same"
    assert len(body["results"]) == 8
    assert set(body["results"][0]) == {
        "id",
        "name",
        "director",
        "popularity",
        "imdb_score",
        "genre",
    }
    assert len(client.get(SUGGEST, {"q": "same", "limit": 20}).json()["results"]) == 12
    assert client.get(SUGGEST, {"q": "  "}).json() == {"query": "  ", "results": []}
    assert client.get(SUGGEST).json() == {"query": "", "results": []}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"q": "war", "limit": "0"}, "limit"),
        ({"q": "war", "limit": "21"}, "limit"),
        ({"q": "war", "limit": "abc"}, "limit"),
        ({"q": "x" * 201}, "q"),
        ({"q": " ".join(["w"] * 11)}, "q"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(client, params, parameter):
    response = client.get(SUGGEST, params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {parameter}


@pytest.mark.django_db
def test_suggestions_are_cached_like_the_list_and_follow_writes(client):
    movie = MovieFactory(name="Alpha")
    first = client.get(SUGGEST, {"q": "alp"})
    assert first.headers["Cache-Control"].startswith("public")
    assert "ETag" in first.headers
    writes.update_movie(movie.pk, name="Alpine")
    assert names(client.get(SUGGEST, {"q": "alp"})) == ["Alpine"]


# The endpoint agrees with the rule applied by brute force, on each database.

VOCABULARY = ["star", "stars", "wars", "war", "the", "godfather", "godmother", "return", "x"]


def brute_force(query: str, limit: int) -> list[int]:
    typed = words(query).split()
    more_words = query[-1:].isspace()
    ranked = []
    for movie in Movie.objects.all():
        name_line, director_line = movie.search_text.split("\n")[:2]
        in_name = set(line_words(name_line).split())
        held = in_name | set(line_words(director_line).split())
        edits = whole = 0
        meant = []
        for position, word in enumerate(typed):
            last = position == len(typed) - 1
            options = []
            for other in held:
                off = OSA.distance(word, other)
                if other == word or off <= allowed_edits(word, other):
                    # The word being typed is whole only as a word of the name.
                    options.append((off, -1 if other in in_name or not last else 0, other))
                if last and other.startswith(word):
                    options.append((0, -1 if other == word and other in in_name else 0, word))
            if not options:
                break
            best = min(options)
            edits, whole = edits + best[0], whole - best[1]
            meant.append(best[2])
        else:
            tier = relevance_tier(
                name_line=name_line, terms=meant, query_words=" ".join(meant), still_typing=True
            )
            if more_words and tier == NAME_IS_QUERY:
                tier = NAME_BEGINS_WITH_QUERY
            extra = len(line_words(name_line).split()) - len(meant) if tier < OTHER_MATCH else 0
            length = (more_words and extra <= 0, extra)
            key = (edits, -whole, tier, length, -movie.popularity, -movie.pk)
            ranked.append((key, movie.pk))
    return [pk for _, pk in sorted(ranked)[:limit]]


@pytest.mark.django_db
@pytest.mark.parametrize("beginning", ["sorted", "walked"])
def test_suggestions_rank_as_the_rule_says(client, monkeypatch, beginning):
    if beginning == "walked":
        monkeypatch.setattr(suggestions, "BEGINNING_SORTED", 1)
        monkeypatch.setattr(suggestions, "WORDS_SORTED", 0)
        monkeypatch.setattr(suggestions, "WORDS_SORTED_IN_SLICE", 0)
    chance = random.Random(3)
    for n in range(45):
        name = " ".join(chance.choice(VOCABULARY) for _ in range(chance.randint(1, 3)))
        MovieFactory(
            name=name.title(),
            director=f"{chance.choice(['Wars', 'Stark', 'Retrun'])} {n}",
            popularity=float(chance.choice([10, 20, 30])),
        )
    queries = ["st", "star", "star w", "stra wars", "godfathr", "the godm", "retrun", "x"]
    for query in [*queries, "star ", "the ", "wars s", "stark"]:
        expected = brute_force(query, 20)
        found = [m["id"] for m in client.get(SUGGEST, {"q": query, "limit": 20}).json()["results"]]
        assert found == expected, query
    assert Movie.objects.count() < suggestions.CANDIDATES  # so the rule is applied to all


@pytest.mark.django_db
def test_every_write_path_keeps_the_word_index(client):
    from catalog.writes import import_records
    from tests.factories import record

    import_records(records=[record(name="Zorro Returns", director="Ann Smith")])
    assert names(client.get(SUGGEST, {"q": "zorro ret"})) == ["Zorro Returns"]
    assert names(client.get(SUGGEST, {"q": "smi"})) == ["Zorro Returns"]
    movie = Movie.objects.get()
    writes.update_movie(movie.pk, name="Zephyr", director="Bo Jones")
    assert names(client.get(SUGGEST, {"q": "zorro"})) == []
    assert names(client.get(SUGGEST, {"q": "smi"})) == []
    assert names(client.get(SUGGEST, {"q": "jon"})) == ["Zephyr"]
    writes.delete_movie(movie.pk)
    assert names(client.get(SUGGEST, {"q": "zeph"})) == []


@pytest.mark.django_db
@pytest.mark.parametrize("popular", [2, 5, 9])
def test_the_most_popular_are_the_same_whether_the_popular_slice_is_enough_or_not(
    monkeypatch, popular
):
    monkeypatch.setattr(suggestions, "CANDIDATES", 5)
    monkeypatch.setattr(suggestions, "POPULAR_SLICE", 80.0)
    for n in range(12):
        MovieFactory(name=f"Movie {n}", popularity=90.0 if n < popular else 50.0 + n)
    movies = Movie.objects.filter(name__startswith="M")
    expected = list(
        movies.order_by("-popularity", "-id").values_list("pk", "popularity", "name")[:5]
    )
    for vendor in ("postgresql", "sqlite"):
        columns = ("pk", "popularity", "name")
        found = suggestions.most_popular(movies, columns, walk=False, vendor=vendor)
        assert found == expected


@pytest.mark.django_db
def test_the_word_being_typed_counts_whole_only_in_the_name(client):
    MovieFactory(name="The Fly", director="Kurt Neumann", popularity=50)
    MovieFactory(name="The Aida", director="F. Mann", popularity=90)
    assert names(client.get(SUGGEST, {"q": "the f"})) == ["The Fly", "The Aida"]


@pytest.mark.django_db
def test_a_misspelt_title_ranks_as_the_title_meant(client):
    MovieFactory(name="Psycho Night White", popularity=90)
    MovieFactory(name="Psycho", popularity=50)
    assert names(client.get(SUGGEST, {"q": "psyhco"})) == ["Psycho", "Psycho Night White"]


@pytest.mark.django_db
def test_names_the_text_makes_up_more_of_come_first(client):
    MovieFactory(name="Nosferatu the Vampyre", popularity=90)
    MovieFactory(name="Nosferatu", popularity=50)
    assert names(client.get(SUGGEST, {"q": "nosfer"})) == ["Nosferatu", "Nosferatu the Vampyre"]


@pytest.mark.django_db
def test_a_space_after_the_last_word_says_another_word_is_coming(client):
    MovieFactory(name="The Jazz", popularity=90)
    MovieFactory(name="The Jazz Singer", popularity=50)
    assert names(client.get(SUGGEST, {"q": "the jazz"})) == ["The Jazz", "The Jazz Singer"]
    assert names(client.get(SUGGEST, {"q": "the jazz "})) == ["The Jazz Singer", "The Jazz"]


@pytest.mark.django_db
def test_a_name_that_is_the_text_typed_is_suggested_however_many_are_more_popular(
    client, monkeypatch
):
    monkeypatch.setattr(suggestions, "CANDIDATES", 3)
    for n in range(5):
        MovieFactory(name=f"Mad {n}", director="Someone", popularity=90)
    MovieFactory(name="M", director="Fritz Lang", popularity=10)
    assert names(client.get(SUGGEST, {"q": "m"}))[0] == "M"


@pytest.mark.django_db
def test_typos_are_looked_for_in_four_words_at_most_the_last_first(client, monkeypatch):
    MovieFactory(name="The Godfather", popularity=50)
    looked: list[str] = []
    candidates = vocabulary.candidates

    def looking(term: str, using: str) -> dict[str, int]:
        looked.append(term)
        return candidates(term, using)

    monkeypatch.setattr(vocabulary, "candidates", looking)
    client.get(SUGGEST, {"q": "alpha bravo charlie delta echos foxtrot godfathr"})
    assert looked == ["godfathr", "alpha", "bravo", "charlie"]
    assert names(client.get(SUGGEST, {"q": "alpha bravo charlie delta godfathr"})) == []
    assert names(client.get(SUGGEST, {"q": "the godfathr"})) == ["The Godfather"]


@pytest.mark.django_db
def test_once_its_time_is_spent_typos_are_not_looked_for(client, settings):
    MovieFactory(name="The Godfather", popularity=50)
    settings.CORRECTION_BUDGET_MS = 0
    assert names(client.get(SUGGEST, {"q": "the godfathr"})) == []
    assert names(client.get(SUGGEST, {"q": "the godfath"})) == ["The Godfather"]
