"""What the catalogue stores for names, directors and genre names, and what it refuses."""

import unicodedata

import pytest

from catalog.text import INVISIBLE_CHARACTER, InvalidText, clean_text, text_key


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Ame\u0301lie", "Amélie"),  # NFD: a combining accent
        ("  Amélie  ", "Amélie"),
        ("The   Third\tMan", "The Third Man"),
        ("The\u00a0Third\u2003Man", "The Third Man"),  # no-break and em spaces
        ("Line\nbreak", "Line break"),
        ("Plain", "Plain"),
    ],
)
def test_text_is_stored_in_nfc_trimmed_with_whitespace_collapsed(typed, stored):
    assert clean_text(typed) == stored
    assert unicodedata.is_normalized("NFC", clean_text(typed))


@pytest.mark.parametrize(
    "hidden",
    [
        "\u200b",  # zero-width space
        "\u2060",  # word joiner
        "\ufeff",  # byte order mark
        "\u202e",  # right-to-left override
        "\u00ad",  # soft hyphen
        "\x00",
        "\x07",
        "\x7f",
        "\x1f",  # a separator Python counts as whitespace
        "\ud800",  # a lone surrogate
        "\ufffe",  # a noncharacter
        "\u3164",  # Hangul filler
        "\U000e0041",  # a tag character
        "\ufe0f",  # a variation selector after a letter
        "\U000e0100",  # a variation selector of the supplement
        "\u2800",  # a blank braille pattern
        "\u180b",  # a Mongolian variation selector
        "\u17b4",  # a Khmer inherent vowel
    ],
)
def test_invisible_and_control_characters_are_refused(hidden):
    with pytest.raises(InvalidText) as refused:
        clean_text(f"Am{hidden}elie")
    assert str(refused.value) == INVISIBLE_CHARACTER.format(codepoint=f"U+{ord(hidden):04X}")


def test_joiners_are_kept_where_scripts_use_them():
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # a zero-width non-joiner
    hindi = "\u0915\u094d\u200d\u0937"  # a zero-width joiner after a virama
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # an emoji sequence
    heart = "I \u2764\ufe0f Paris"  # the emoji presentation selector
    for text in (persian, hindi, family, heart):
        assert clean_text(text) == text
    for hidden in ("Ame\u200dlie", "\u0410\u043c\u200d\u0435\u043b\u0438", "Drama\ufe0f"):
        with pytest.raises(InvalidText):
            clean_text(hidden)  # where a script does not join, they only hide a difference


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Drama", "DRAMA"),
        ("Straße", "STRASSE"),
        ("Σίσυφος", "ΣΊΣΥΦΟΣ"),  # final sigma
        ("ﬁlm", "film"),  # a ligature
        ("Ｆｉｌｍ", "film"),  # full-width letters
        ("İstanbul", "i̇stanbul"),
    ],
)
def test_genre_keys_fold_case_and_compatibility_forms(one, other):
    assert text_key(one) == text_key(other)


def test_genre_keys_keep_different_letters_apart():
    assert text_key("İstanbul") != text_key("istanbul")
    assert text_key("Drama") != text_key("Dráma")
