"""The parts of the catalogue a write raises meet those of every answer it can change."""

import itertools
import random

import pytest

from catalog.scopes import (
    least_raised,
    search_scope,
    search_scopes,
    short_bucket,
    text_bucket,
    text_scopes,
    typed_word_keys,
    word_keys,
)
from catalog.search import Search, field_line, search_document
from catalog.vocabulary import allowed_edits, distance, reach
from tests.support.reference import Row, movie_fields, reference_matches


def one_edit_away(word: str, letters: str) -> set[str]:
    """Every word one edit from ``word``: a letter inserted, deleted or replaced, or two
    neighbours swapped."""
    found = set()
    for at in range(len(word) + 1):
        found |= {word[:at] + letter + word[at:] for letter in letters}
    for at in range(len(word)):
        found.add(word[:at] + word[at + 1 :])
        found |= {word[:at] + letter + word[at + 1 :] for letter in letters}
    for at in range(len(word) - 1):
        found.add(word[:at] + word[at + 1] + word[at] + word[at + 2 :])
    return found


def within_allowed_edits(typed: str, letters: str) -> set[str]:
    """The words a typed word may stand for: those within the edits allowed between them."""
    near = one_edit_away(typed, letters)
    near |= {far for word in near for far in one_edit_away(word, letters)}
    return {word for word in near if word and distance(typed, word) <= allowed_edits(typed, word)}


# Every typed word of up to 9 letters over two letters, where edits make the most
# look-alikes, and words of up to 13 letters over four.
TWO_LETTER_WORDS = [
    "".join(letters) for size in range(1, 10) for letters in itertools.product("ab", repeat=size)
]
_random = random.Random(7)
FOUR_LETTER_WORDS = [
    "".join(_random.choice("abcd") for _ in range(_random.randint(4, 13))) for _ in range(60)
]


@pytest.mark.parametrize(
    ("typed_words", "letters"), [(TWO_LETTER_WORDS, "ab"), (FOUR_LETTER_WORDS, "abcd")]
)
def test_a_word_beginning_within_the_edits_of_a_typed_word_shares_one_of_its_keys(
    typed_words, letters
):
    missed = []
    for typed in typed_words:
        keys = typed_word_keys(typed, reach(typed))
        for meant in within_allowed_edits(typed, letters) | {typed}:
            for word in (meant, meant + letters[-1]):  # the word itself, or one it begins
                if not keys & word_keys(word):
                    missed.append((typed, word))
    assert missed == []


def test_a_word_beginning_otherwise_shares_no_key_with_a_typed_word():
    assert not typed_word_keys("vantrope", reach("vantrope")) & word_keys("someone")
    assert not typed_word_keys("zorbl", reach("zorbl")) & word_keys("heat")
    assert not typed_word_keys("hea", 0) & word_keys("the")


def test_numbers_and_short_words_are_keyed_by_their_beginning():
    assert typed_word_keys("20", 0) <= word_keys("2001")
    assert typed_word_keys("hea", 0) <= word_keys("heat")
    assert not typed_word_keys("hea", 0) & word_keys("hat")


# A search's results: the buckets it may depend on


def random_movie(rng: random.Random, pk: int) -> Row:
    def words(count: int) -> str:
        return " ".join(
            "".join(rng.choice("abcdeé-'") for _ in range(rng.randint(1, 7))) for _ in range(count)
        )

    genres = tuple(words(rng.randint(1, 2)) for _ in range(rng.randint(0, 2)))
    popularity, score = round(rng.uniform(0, 100), 1), round(rng.uniform(1, 10), 1)
    return Row(pk, words(rng.randint(1, 4)), words(rng.randint(1, 3)), popularity, score, genres)


def random_search_for(row: Row, rng: random.Random) -> str:
    """Pieces of the movie's fields, plain, as phrases, in a field, or excluded."""
    clauses = []
    for _ in range(rng.randint(1, 3)):
        field = rng.choice(movie_fields(row)).lower()
        start = rng.randrange(len(field))
        piece = field[start : start + rng.randint(1, 6)].strip(" ,") or field
        shape = rng.choice(["plain", "phrase", "field", "excluded"])
        if shape == "phrase":
            piece = f'"{" ".join(field.split()[: rng.randint(1, 3)])}"'
        elif shape == "field":
            piece = rng.choice(["name:", "director:", "genre:"]) + piece
        elif shape == "excluded":
            piece = "-" + piece
        clauses.append(piece)
    return " ".join(clauses)


def test_every_bucket_a_search_may_depend_on_is_raised_by_each_movie_it_finds():
    """Each of a search's buckets is one of every match's: any one will see its writes."""
    rng = random.Random(5)
    found = 0
    for pk in range(3000):
        row = random_movie(rng, pk)
        query = random_search_for(row, rng)
        if not reference_matches(row, query):
            continue
        found += 1
        document = search_document(
            name=row.name,
            director=row.director,
            popularity=row.popularity,
            imdb_score=row.imdb_score,
        )
        raised = text_scopes([document, *map(field_line, row.genres)])
        assert set(search_scopes(Search.parse(query))) <= raised, (row, query)
    assert found > 1000


def test_a_search_weighs_each_trigram_of_its_terms_its_first_first():
    search = Search.parse("kubrick 57")
    scopes = search_scopes(search)
    assert scopes[0] == search_scope(search)
    assert len(scopes) == len(set(scopes))
    trigrams = ["kub", "ubr", "bri", "ric", "ick"]
    assert set(scopes) == {*map(text_bucket, trigrams), short_bucket("57")}
    assert search_scopes(Search.parse("")) == []
    assert search_scopes(Search.parse("-kubrick")) == []


def test_a_search_depends_on_the_bucket_raised_longest_ago():
    assert least_raised(["a", "b", "c"], {"a": 7, "b": 3, "c": 5}) == "b"
    assert least_raised(["a", "b", "c"], {"a": 7, "b": 0, "c": 0}) == "b"  # the first never raised
    assert least_raised(["a", "b"], {"a": 7}) == "a"  # b not read: taken as just raised
