"""The long-tail benchmark's requests (bench.longtail_queries) and a small run of it."""

from __future__ import annotations

import random
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection

from bench.longtail_bench import measure_inprocess, summary
from bench.longtail_queries import (
    DEEP,
    FACETS,
    HIGHLIGHT,
    KINDS,
    LIST,
    MAX_OFFSET,
    NUMBER,
    ORDERINGS,
    PAGE,
    SUGGEST,
    SYNTAX,
    SYNTAX_SHAPES,
    UNMARKED,
    Vocabulary,
    Zipf,
    long_tail,
    read_vocabulary,
    typo,
)
from catalog.reads import query as app_query
from catalog.search import Search

VOCABULARY = Vocabulary(
    titles=[f"Title {word} of {n}" for n, word in enumerate(("storm", "river", "night") * 40)],
    words=[f"word{chr(97 + n % 26)}{n}" for n in range(300)],
    directors=[f"Director Number{n}" for n in range(80)],
    genres=["Drama", "Comedy", "Horror", "Sci-Fi"],
)


def params(query) -> dict[str, list[str]]:
    return parse_qs(urlsplit(query.path).query)


def test_the_same_seed_draws_the_same_requests_and_another_seed_others():
    first = [query.path for query in long_tail(VOCABULARY, 500, seed=3)]

    assert first == [query.path for query in long_tail(VOCABULARY, 500, seed=3)]
    assert first != [query.path for query in long_tail(VOCABULARY, 500, seed=4)]


def test_every_request_is_distinct():
    paths = [query.path for query in long_tail(VOCABULARY, 2_000)]

    assert len(set(paths)) == len(paths) == 2_000


def test_the_steering_mix_draws_every_shape_of_syntax_and_each_parses():
    queries = long_tail(VOCABULARY, 600, mix="steering")

    assert {query.kind for query in queries} == {SYNTAX, FACETS, HIGHLIGHT, UNMARKED}
    syntax = [query for query in queries if query.kind == SYNTAX]
    assert {query.shape for query in syntax} == set(SYNTAX_SHAPES)
    for query in syntax:
        search = Search.parse(params(query)["search"][0])
        assert not search.plain, query.path
    assert all(params(query)["facets"] == ["genre"] for query in queries if query.kind == FACETS)


def test_each_highlighted_search_is_also_sent_without_highlights():
    queries = long_tail(VOCABULARY, 600, mix="steering")
    unmarked = {query.path for query in queries if query.kind == UNMARKED}

    for query in queries:
        if query.kind == HIGHLIGHT:
            assert params(query)["highlight"] == ["1"]
            assert query.path.replace("&highlight=1", "") in unmarked


def test_every_kind_and_ordering_is_drawn():
    queries = long_tail(VOCABULARY, 2_000)

    assert {query.kind for query in queries} == set(KINDS)
    listed = {query.ordering for query in queries if query.kind == LIST}
    assert listed == set(ORDERINGS)


def test_the_orderings_and_the_deepest_offset_are_the_apps():
    assert {ordering or app_query.RELEVANCE for ordering in ORDERINGS} == set(app_query.ORDERINGS)
    assert MAX_OFFSET == app_query.MAX_OFFSET
    assert PAGE == app_query.DEFAULT_LIMIT


def test_deep_pages_stay_within_the_deepest_offset_and_others_start_at_the_top():
    queries = long_tail(VOCABULARY, 2_000)
    deep = [query for query in queries if query.kind == DEEP]

    assert deep
    assert all(0 < query.offset <= MAX_OFFSET and query.offset % PAGE == 0 for query in deep)
    assert all(int(params(query)["offset"][0]) == query.offset for query in deep)
    assert all("offset" not in params(query) for query in queries if query.kind != DEEP)


def test_suggestions_ask_the_suggest_endpoint_and_numbers_search_digits():
    queries = long_tail(VOCABULARY, 2_000)

    for query in queries:
        if query.kind == SUGGEST:
            assert query.path.startswith("/api/movies/suggest?q=")
        if query.kind == NUMBER:
            assert params(query)["search"][0].replace(".", "").isdigit()


@pytest.mark.parametrize("edits", [1, 2])
def test_a_typo_never_gives_back_the_word(edits):
    rng = random.Random(0)

    for word in ("godfather", "star", "wars", "ab", "aaaa"):
        for _ in range(200):
            assert typo(word, rng, edits).lower() != word


def test_a_typo_of_a_number_never_makes_it_a_fields_prefix():
    rng = random.Random(0)
    for edits in (1, 2):
        for _ in range(500):
            Search.parse(typo("3:10", rng, edits))  # raises InvalidSearch on an unknown field


def test_zipf_picks_the_first_ranks_most_often():
    items = [str(rank) for rank in range(1, 1001)]
    zipf, rng = Zipf(items), random.Random(0)
    picked = Counter(zipf.pick(rng) for _ in range(20_000))

    # With exponent 1, rank 1 is picked 10 times as often as rank 10.
    assert picked["1"] > 5 * picked["10"] > 0
    assert picked["1"] > 0.08 * 20_000
    assert sum(picked[str(rank)] for rank in range(1, 11)) > 0.3 * 20_000


def test_titles_are_asked_for_by_their_rank():
    titles = [query for query in long_tail(VOCABULARY, 3_000) if query.shape == "title"]
    counts = Counter(params(query)["search"][0] for query in titles)

    # Distinct requests: the most popular title is asked in several orderings.
    assert counts[VOCABULARY.titles[0]] >= counts[VOCABULARY.titles[-1]]
    assert counts[VOCABULARY.titles[0]] > 1


@pytest.mark.django_db
def test_a_small_run_answers_every_request_from_the_catalogues_own_words(fixture_catalogue):
    vocabulary = read_vocabulary(connection)
    queries = long_tail(vocabulary, 150, seed=1)

    timings = summary(queries, measure_inprocess([query.path for query in queries]))

    assert "Drama" in vocabulary.genres
    assert all((vocabulary.titles, vocabulary.words, vocabulary.directors))
    assert timings["errors"] == []
    assert timings["all"]["requests"] == 150
    assert set(timings["groups"]) >= {SUGGEST, NUMBER, DEEP}
    assert all(group["errors"] == 0 for group in timings["groups"].values())
