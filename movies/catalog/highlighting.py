"""Where a search matched in a movie's name and director: ranges of the text as shown.

Terms match a field's normalised text (catalog.search.field_line: NFKD,
combining marks stripped, casefolded, control characters made spaces), which
need not be as long as the text shown: "ﬁ" becomes "fi", "ß" "ss", "é" "e"
and U+FDFA eighteen characters. The ranges are of the text shown, in its
characters (Python's str indices, the code points of the API's JSON
strings), as ``[start, length]``, sorted, overlapping and adjacent ones
merged.

The index map: the text is normalised one character at a time, and each
character of the normalised text comes from the character it was made of.
A match covers every character it takes a part of (a match of "f" in "ﬁ"
covers "ﬁ"), and the characters that normalise to nothing right after its
last one (a combining mark of decomposed text goes with its letter).
Normalising character by character gives the very text terms match: NFKD
decomposes each character by itself, and only reorders combining marks,
which are stripped; casefold folds each character by itself; and the ASCII
shortcut, lower(), is casefold on ASCII. One rule looks at neighbours: a run
of control characters is one space, which the run's first character makes,
the others going with it as characters that normalise to nothing
(tests/test_highlighting.py checks all this on random text).

Pure: no database, nothing but the text and the patterns, so a page of
results is marked in well under a millisecond.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from catalog.search import Search, field_line

# The fields a search's matches are marked in, as the API and the page show them.
HIGHLIGHTED_FIELDS = ("name", "director")


def patterns_for(search: Search) -> dict[str, list[re.Pattern[str]]]:
    """The patterns to mark in each of HIGHLIGHTED_FIELDS for ``search``.

    The one place that knows how a search's clauses become patterns: a term,
    a substring of a field's normalised text, is itself, escaped; a phrase is
    its words, whole and adjacent (catalog.search.Clause). Each is marked in
    the field it is limited to, or in every field; what a search excludes is
    never marked.
    """
    by_field: dict[str, list[re.Pattern[str]]] = {field: [] for field in HIGHLIGHTED_FIELDS}
    for clause in dict.fromkeys(search.clauses):
        if clause.excluded:
            continue
        fields = HIGHLIGHTED_FIELDS if not clause.field else (clause.field,)
        if clause.phrase:
            pattern = re.compile(r"(?<!\w)" + clause.words_adjacent() + r"(?!\w)")
        else:
            pattern = re.compile(re.escape(clause.text))
        for field in fields:
            if field in by_field:
                by_field[field].append(pattern)
    return by_field


def highlights(
    movie_fields: Mapping[str, str], patterns: Mapping[str, Sequence[re.Pattern[str]]]
) -> dict[str, list[list[int]]]:
    """Each field of ``patterns`` (patterns_for's) with its ranges in ``movie_fields``,
    as the API answers them: ``{"name": [[0, 6]], "director": []}``."""
    return {
        field: [[start, length] for start, length in matched_ranges(movie_fields[field], wanted)]
        for field, wanted in patterns.items()
    }


def matched_ranges(text: str, patterns: Sequence[re.Pattern[str]]) -> list[tuple[int, int]]:
    """Every match of every pattern in ``text``'s normalised form (field_line), as
    ``(start, length)`` ranges of ``text`` itself, sorted and merged.

    Overlapping matches of one pattern count too (``aa`` in ``aaa`` covers all
    three); empty patterns and empty matches mark nothing.
    """
    patterns = [pattern for pattern in patterns if pattern.pattern]
    if not patterns or not text:
        return []
    if text.isascii() and text.isprintable():
        # field_line's text, each character from itself: no accent, no control character.
        spans = _spans(text.lower(), patterns)
    else:
        line, origins, ends = index_map(text)
        spans = ((origins[start], ends[end - 1]) for start, end in _spans(line, patterns))
    return _merged(spans)


def _spans(line: str, patterns: Iterable[re.Pattern[str]]) -> Iterable[tuple[int, int]]:
    """Every non-empty match of the patterns in ``line``, each start tried once."""
    for pattern in patterns:
        found = pattern.search(line)
        while found is not None:
            start, end = found.span()
            if end > start:
                yield start, end
            if start >= len(line):
                break
            found = pattern.search(line, start + 1)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    begin = end = -1
    for start, stop in sorted(spans):
        if start <= end:
            end = max(end, stop)
            continue
        if end > begin:
            ranges.append((begin, end - begin))
        begin, end = start, stop
    if end > begin:
        ranges.append((begin, end - begin))
    return ranges


@lru_cache(maxsize=1024)
def index_map(text: str) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """``text`` normalised character by character: its line (field_line's), and for
    each character of the line, where the character of ``text`` it comes from
    starts, and where a match ending on it ends (past that character and those
    after it that normalise to nothing)."""
    pieces: list[str] = []
    origins: list[int] = []
    ends: list[int] = []
    in_control_run = False
    for index, character in enumerate(text):
        folded = _folded(character)
        if folded:
            # A run of control characters is one space: the first makes it.
            control = unicodedata.category(character) == "Cc"
            if control and in_control_run:
                folded = ""
            in_control_run = control
        if not folded:
            # Nothing of it to match: it goes with the character before it.
            for last in range(len(ends) - 1, -1, -1):
                if ends[last] != index:
                    break
                ends[last] = index + 1
            continue
        pieces.append(folded)
        origins.extend([index] * len(folded))
        ends.extend([index + 1] * len(folded))
    return "".join(pieces), tuple(origins), tuple(ends)


# Names and directors share a small alphabet; each character is normalised once.
_folded = lru_cache(maxsize=4096)(field_line)
