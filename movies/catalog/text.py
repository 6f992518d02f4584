"""The rules for catalogue text: names, directors and genre names.

Two texts that a person reads as the same must be stored as the same, so that
(name, director) identifies a movie and a genre is one genre however it is
typed. Text is therefore stored normalised: Unicode NFC (``Amélie`` typed with a
combining accent is the same as with a precomposed one), trimmed, and with
every run of whitespace, whatever its kind, collapsed into one space. Characters
that show nothing are refused rather than dropped, since dropping them would
silently change what was sent: control characters, invisible format characters
(zero-width space, bidirectional overrides, byte order marks, ...), lone
surrogates, noncharacters and the Hangul fillers. The zero-width joiner and
non-joiner are part of how Persian, Indic scripts and emoji are written, so
they are accepted between two non-ASCII characters and refused elsewhere.

Genres are one when their keys match: the text's NFKC case fold, computed in
Python and stored, so that no database's own case folding ever decides.
"""

from __future__ import annotations

import re
import unicodedata

INVISIBLE_CHARACTER = "Must not contain invisible or control characters (found {codepoint})."
# Spaces (Unicode Zs) and line breaks; not the information separators U+001C
# to U+001F, which Python counts as whitespace but are control characters.
_WHITESPACE_CHARACTERS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WHITESPACE = re.compile(f"[{_WHITESPACE_CHARACTERS}]+")
_JOINERS = frozenset("\u200c\u200d")
_FILLERS = frozenset("\u034f\u115f\u1160\u3164\uffa0")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


class InvalidText(ValueError):
    """Text the catalogue refuses to store; the message is meant for the client."""


def _is_noncharacter(char: str) -> bool:
    codepoint = ord(char)
    return 0xFDD0 <= codepoint <= 0xFDEF or codepoint & 0xFFFE == 0xFFFE


def _joins_visible_characters(text: str, position: int) -> bool:
    """A joiner between two non-ASCII, non-space characters: where scripts use one."""
    if position == 0 or position == len(text) - 1:
        return False
    before, after = text[position - 1], text[position + 1]
    return not (before.isascii() or after.isascii() or before.isspace() or after.isspace())


def find_invisible(text: str) -> str | None:
    """The first character of ``text`` that the catalogue refuses, as ``U+XXXX``."""
    for position, char in enumerate(text):
        if char.isascii() and char.isprintable():
            continue
        if _WHITESPACE.match(char):
            continue  # collapsed by clean_text
        if char in _JOINERS and _joins_visible_characters(text, position):
            continue
        if (
            unicodedata.category(char) in _REFUSED_CATEGORIES
            or char in _FILLERS
            or _is_noncharacter(char)
        ):
            return f"U+{ord(char):04X}"
    return None


def clean_text(text: str) -> str:
    """``text`` as the catalogue stores it: NFC, trimmed, inner whitespace collapsed.

    Raises InvalidText when it holds a character that shows nothing (see the
    module docstring).
    """
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip()  # the common case, without the Unicode work
    codepoint = find_invisible(text)
    if codepoint is not None:
        raise InvalidText(INVISIBLE_CHARACTER.format(codepoint=codepoint))
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def text_key(text: str) -> str:
    """The key under which two texts are the same genre: NFKC, then case folded.

    Computed once in Python and stored, so every path (API, admin, importer,
    filters) and every database match genres by exactly this rule.
    """
    cleaned = _WHITESPACE.sub(" ", text).strip()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", cleaned).casefold())
