"""The rules for catalogue text: names, directors and genre names.

Two texts that a person reads as the same must be stored as the same, so that
(name, director) identifies a movie and a genre is one genre however it is
typed. Text is therefore stored normalised: Unicode NFC (``Amélie`` typed with a
combining accent is the same as with a precomposed one), trimmed, and with
every run of whitespace, whatever its kind, collapsed into one space. Characters
that show nothing are refused rather than dropped, since dropping them would
silently change what was sent: control characters, invisible format characters
(zero-width space, bidirectional overrides, byte order marks, ...), the other
default-ignorable characters of Unicode (variation selectors, fillers, ...),
blank symbols, lone surrogates and noncharacters. Three are part of how some
text is written and are accepted where it needs them: the zero-width joiner
and non-joiner between two letters or marks of a script that joins (Arabic,
Syriac, the Indic scripts) or between two emoji, and the emoji variation
selector U+FE0F after an emoji.

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
_EMOJI_PRESENTATION = "\ufe0f"
# Unicode's Default_Ignorable_Code_Point outside the Cf category, and blanks.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors
    (0x2800, 0x2800),  # braille pattern blank
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
# Scripts whose letters a zero-width joiner or non-joiner may stand between.
_JOINING_RANGES = (
    (0x0600, 0x08FF),  # Arabic, Syriac, Thaana, ...
    (0x0900, 0x0DFF),  # the Indic scripts
    (0x0F00, 0x109F),  # Tibetan, Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0xA8E0, 0xA8FF),  # Devanagari extended
    (0xFB50, 0xFDFF),  # Arabic presentation forms
    (0xFE70, 0xFEFF),  # Arabic presentation forms
)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


class InvalidText(ValueError):
    """Text the catalogue refuses to store; the message is meant for the client."""


def _is_noncharacter(char: str) -> bool:
    codepoint = ord(char)
    return 0xFDD0 <= codepoint <= 0xFDEF or codepoint & 0xFFFE == 0xFFFE


def _in(ranges: tuple[tuple[int, int], ...], char: str) -> bool:
    codepoint = ord(char)
    return any(low <= codepoint <= high for low, high in ranges)


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" and ord(char) >= 0x2190


def _joins_visible_characters(text: str, position: int) -> bool:
    """A joiner between two characters of a joining script, or between two emoji."""
    if position == 0 or position == len(text) - 1:
        return False
    before, after = text[position - 1], text[position + 1]
    if _is_emoji(after) and (_is_emoji(before) or before == _EMOJI_PRESENTATION):
        return True
    return _in(_JOINING_RANGES, before) and _in(_JOINING_RANGES, after)


def find_invisible(text: str) -> str | None:
    """The first character of ``text`` that the catalogue refuses, as ``U+XXXX``."""
    for position, char in enumerate(text):
        if char.isascii() and char.isprintable():
            continue
        if _WHITESPACE.match(char):
            continue  # collapsed by clean_text
        if char in _JOINERS and _joins_visible_characters(text, position):
            continue
        if char == _EMOJI_PRESENTATION and position and _is_emoji(text[position - 1]):
            continue
        if (
            unicodedata.category(char) in _REFUSED_CATEGORIES
            or _in(_IGNORABLE_RANGES, char)
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
