"""The parts of the catalogue a write raises meet those of every answer it can change."""

import itertools
import random

import pytest

from catalog.scopes import typed_word_keys, word_keys
from catalog.vocabulary import allowed_edits, distance, reach


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
