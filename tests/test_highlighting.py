"""Where a search matched, as ranges of the text shown (catalog.highlighting): no database."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from catalog.highlighting import highlights, index_map, matched_ranges, patterns_for
from catalog.search import Search, field_line


def patterns(*terms: str) -> list[re.Pattern[str]]:
    return [re.compile(re.escape(term)) for term in terms]


def marked(text: str, *terms: str) -> list[str]:
    """The pieces of ``text`` the terms mark."""
    return [
        text[start : start + length] for start, length in matched_ranges(text, patterns(*terms))
    ]


def test_a_term_in_ascii_text_is_its_range():
    assert matched_ranges("The Godfather", patterns("godfather")) == [(4, 9)]


def test_case_is_ignored():
    assert marked("THE GODFATHER", "godfather") == ["GODFATHER"]


def test_every_occurrence_is_marked():
    assert marked("The Man Who Shot Liberty Valance", "an") == ["an", "an"]


def test_an_accented_name_is_marked_by_a_term_without_accents():
    assert matched_ranges("Amélie", patterns("amelie")) == [(0, 6)]
    assert marked("Le Fabuleux Destin d'Amélie Poulain", "eli") == ["éli"]


def test_a_decomposed_accent_goes_with_its_letter():
    text = "Ame\u0301lie"  # "e" and a combining acute accent: two characters
    assert matched_ranges(text, patterns("ame")) == [(0, 4)]
    assert matched_ranges(text, patterns("lie")) == [(4, 3)]


def test_a_ligature_is_marked_whole_when_part_of_it_matches():
    assert marked("The ﬁsh", "f") == ["ﬁ"]
    assert marked("The ﬁsh", "fis") == ["ﬁs"]
    assert marked("The ﬁsh", "is") == ["ﬁs"]
    assert matched_ranges("Oﬃce", patterns("ffi")) == [(1, 1)]


def test_sharp_s_is_two_characters_of_the_normalised_text():
    assert marked("Straße", "strasse") == ["Straße"]
    assert marked("Straße", "ss") == ["ß"]
    assert marked("Straße", "s") == ["S", "ß"]
    assert marked("Weiß Street", "ss st") == ["ß St"]


def test_a_character_that_normalises_to_eighteen_marks_whole():
    text = "A \ufdfa B"
    assert len(field_line(text)) == len(text) - 1 + 18
    assert matched_ranges(text, patterns("الله")) == [(2, 1)]
    assert matched_ranges(text, patterns("b")) == [(4, 1)]
    assert matched_ranges(text, patterns("م a")) == []
    assert matched_ranges(text, patterns("م b")) == [(2, 3)]


def test_ranges_after_an_expansion_are_of_the_text_shown():
    assert matched_ranges("ﬁ ß é war", patterns("war")) == [(6, 3)]


def test_several_terms_overlapping_or_adjacent_make_one_range():
    assert matched_ranges("The War", patterns("the", "war", "he w")) == [(0, 7)]
    assert matched_ranges("abcd", patterns("ab", "cd")) == [(0, 4)]
    assert matched_ranges("ab cd", patterns("ab", "cd")) == [(0, 2), (3, 2)]


def test_overlapping_occurrences_of_one_term_are_all_marked():
    assert matched_ranges("aaa", patterns("aa")) == [(0, 3)]


def test_empty_patterns_and_empty_matches_mark_nothing():
    assert matched_ranges("War", patterns("")) == []
    assert matched_ranges("War", [re.compile("x*")]) == []
    assert matched_ranges("", patterns("war")) == []
    assert matched_ranges("War", []) == []


def test_control_characters_match_as_spaces_as_in_search_text():
    assert matched_ranges("a\tb", patterns("a b")) == [(0, 3)]
    assert matched_ranges("a\r\nb", patterns(" ")) == [(1, 2)]
    assert matched_ranges("é\r\nb", patterns("e b")) == [(0, 4)]


def test_patterns_for_a_search_mark_each_term_in_the_name_and_the_director():
    found = patterns_for(Search.parse("Amélie, jean"))
    assert {field: [p.pattern for p in wanted] for field, wanted in found.items()} == {
        "name": ["amelie", "jean"],
        "director": ["amelie", "jean"],
    }


def test_patterns_for_escape_what_terms_hold():
    found = patterns_for(Search.parse("8.5 (a"))
    assert matched_ranges("8x5 (a", found["name"]) == [(4, 2)]


def test_patterns_for_a_blank_search_mark_nothing():
    assert patterns_for(Search.parse(" , ")) == {"name": [], "director": []}


def test_a_phrase_is_marked_as_its_words_with_what_stands_between_them():
    found = patterns_for(Search.parse('"godfather part"'))
    assert matched_ranges("The Godfather: Part II", found["name"]) == [(4, 15)]
    assert matched_ranges("Godfathers: Part II", found["name"]) == []  # whole words only


def test_an_excluded_term_is_never_marked():
    found = patterns_for(Search.parse("dark -knight"))
    assert matched_ranges("The Dark Knight", found["name"]) == [(4, 4)]


def test_a_field_term_is_marked_in_its_field_only():
    found = patterns_for(Search.parse("director:nolan name:dark"))
    movie = {"name": "Dark Nolan", "director": "Dark Nolan"}
    assert highlights(movie, found) == {"name": [[0, 4]], "director": [[5, 5]]}
    assert patterns_for(Search.parse("genre:drama")) == {"name": [], "director": []}


def test_highlights_answer_each_field_as_lists():
    movie = {"name": "Amélie", "director": "Jean-Pierre Jeunet", "popularity": "7.0"}
    assert highlights(movie, patterns_for(Search.parse("ame jean"))) == {
        "name": [[0, 3]],
        "director": [[0, 4]],
    }


# Characters whose normalised form differs in length or in kind from themselves.
TRICKY = st.sampled_from(
    ["é", "É", "e\u0301", "\u0301", "ﬁ", "ﬃ", "ß", "ẞ", "\ufdfa", "İ", "Σ", "ς", "ǰ", "Å", "½"]
)
CHARACTERS = st.one_of(
    st.sampled_from([*"aAbeE sS", "\t", "\x00", "\x85"]),
    TRICKY,
    st.characters(exclude_categories=("Cs",)),
)
TEXT = st.lists(CHARACTERS, max_size=30).map("".join)


def origin_of(text: str, position: int) -> int:
    """The character of ``text`` that the ``position``-th character of its normalised form
    comes from, read off the normalised lengths of its beginnings (brute force)."""
    return max(i for i in range(len(text)) if len(field_line(text[:i])) <= position)


@given(TEXT)
@example("A \ufdfa ﬁß e\u0301")
@example("a\x01\u0301\x02b\t\n")
def test_normalising_character_by_character_is_normalising_the_text(text):
    line, origins, ends = index_map(text)
    assert line == field_line(text)
    assert len(origins) == len(ends) == len(line)
    for position, (origin, end) in enumerate(zip(origins, ends, strict=True)):
        assert origin < end <= len(text)
        assert origin == origin_of(text, position)


@given(TEXT, st.data())
@example("Straße", None)
def test_ranges_hold_the_term_and_every_occurrence_of_it(text, data):
    line = field_line(text)
    if not line.strip():
        return
    if data is None:
        term = "ss"
    else:
        start = data.draw(st.integers(0, len(line) - 1))
        term = line[start : data.draw(st.integers(start + 1, len(line)))]
    ranges = matched_ranges(text, patterns(term))

    # Sorted, apart, within the text.
    ends = [start + length for start, length in ranges]
    for (start, length), end in zip(ranges, ends, strict=True):
        assert 0 <= start < end <= len(text)
        assert length > 0
    assert all(end < following for end, (following, _) in zip(ends, ranges[1:], strict=False))
    # Each range, normalised, holds the term.
    for start, length in ranges:
        assert term in field_line(text[start : start + length])
    # Every occurrence lies in a range, whole.
    for position in range(len(line) - len(term) + 1):
        if line.startswith(term, position):
            first = origin_of(text, position)
            last = origin_of(text, position + len(term) - 1)
            assert any(start <= first and last < start + length for start, length in ranges), (
                position,
                ranges,
            )


@pytest.mark.parametrize("text", ["", "war", "Amélie"])
def test_no_pattern_marks_nothing(text):
    assert highlights({"name": text, "director": text}, {"name": [], "director": []}) == {
        "name": [],
        "director": [],
    }
