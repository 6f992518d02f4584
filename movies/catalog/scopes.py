"""Which cached answers a write can change: the parts of the catalogue, as versions.

Every write raises the catalogue's version (ALL), and an answer that may
depend on anything is kept only while ALL is unchanged. Some answers depend on
less, and are kept across writes elsewhere:

- A search's results (a page, its count, its order) can only change when a
  movie that matches it, before or after the write, changes: every term is
  then in that movie's text or one of its genres' names, so its longest
  term's every trigram is too. The catalogue's trigrams are hashed into
  TEXT_BUCKETS scopes; a write of a movie raises the buckets of every trigram
  of its text and genre names, as they were and as they are, and a search
  with results depends on one bucket of its terms' trigrams: any one would
  do, and it takes the one raised longest ago (least_raised), so that
  trigrams the catalogue's writes hold often (``the``, a genre's name, the
  last writes' words) do not throw it away. Terms of one or two characters
  (``57``, ``of``) have no trigram: they and every such piece of text are
  hashed into SHORT_BUCKETS scopes of their own, so as not to crowd the
  trigrams' buckets.
- Suggestions (catalog.suggestions) can only change when a movie holding a
  word related to a typed word, before or after the write, changes: a word
  with a beginning within the typed word's edits (the movie may become or
  stop being a candidate; its words' counts move the typed word's
  corrections). A write raises the word buckets of every word of its movie's
  name and director (word_scopes), and suggestions depend on those of their
  typed words (suggestion_scopes); word_keys and typed_word_keys say why the
  two always meet.
- A search that found nothing, and its correction (catalog.vocabulary's
  did_you_mean), can only change when a movie changes that matches it or a
  correction tried, or that holds a word which contains one of the words
  corrected (is it misspelt?) or begins within its edits (what may it
  become?): correction_scopes. The corrections tried are known once the
  answer is computed, so these are read after it (CatalogueRead.depend_on).
- A movie's own answer (``/api/movies/<id>``) depends on that movie.

Writes that do not name what they change (an import, a genre's rename or
deletion, a repair) raise WIDE, on which every scoped answer depends too.
Lists without a search depend on ALL.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence

from catalog.search import FIELD_SEPARATOR, Search, line_words, name_and_director_lines
from catalog.vocabulary import corrected_words, reach

ALL = "all"
WIDE = "wide"
TEXT_BUCKETS = 4096
SHORT_BUCKETS = 1024
WORD_BUCKETS = 16384
_TRIGRAM = 3
# A search with results weighs this many of its trigrams' buckets (search_scopes).
SEARCH_SCOPES_WEIGHED = 16


def text_bucket(trigram: str) -> str:
    return f"text:{zlib.crc32(trigram.encode('utf-8', 'surrogatepass')) % TEXT_BUCKETS}"


def short_bucket(piece: str) -> str:
    return f"short:{zlib.crc32(piece.encode('utf-8', 'surrogatepass')) % SHORT_BUCKETS}"


def trigrams(text: str) -> list[str]:
    """Every run of three characters of ``text``, in order."""
    return [text[start : start + _TRIGRAM] for start in range(len(text) - _TRIGRAM + 1)]


def text_scopes(texts: Iterable[str]) -> set[str]:
    """The buckets of every trigram, and every piece of one or two characters, of these
    normalised texts (search_text, search_name)."""
    found: set[str] = set()
    short: set[str] = set()
    for text in texts:
        for line in text.split(FIELD_SEPARATOR):
            found.update(trigrams(line))
            short.update(line)
            short.update(line[start : start + 2] for start in range(len(line) - 1))
    return {*map(text_bucket, found), *map(short_bucket, short)}


def search_scope(search: Search | None) -> str | None:
    """One bucket a search's results depend on (its longest term's first trigram's); None
    without a term."""
    if search is None or not search.terms:
        return None
    longest = search.terms[0]  # terms: longest first
    return text_bucket(longest[:_TRIGRAM]) if len(longest) >= _TRIGRAM else short_bucket(longest)


def search_scopes(search: Search | None) -> list[str]:
    """The buckets a search's results may depend on, any one of them: each trigram of each
    term (a term of one or two characters whole), search_scope's first; SEARCH_SCOPES_WEIGHED
    at most."""
    first = search_scope(search)
    if search is None or first is None:
        return []
    found = dict.fromkeys([first])
    for term in search.terms:
        if len(term) < _TRIGRAM:
            found[short_bucket(term)] = None
        found.update(dict.fromkeys(map(text_bucket, trigrams(term))))
    return list(found)[:SEARCH_SCOPES_WEIGHED]


def least_raised(scopes: Sequence[str], versions: Mapping[str, int]) -> str:
    """Of these scopes, the one raised longest ago (the first of those never raised): the
    one the next writes are least likely to raise. ``versions``: theirs, 0 for one never
    raised; one not there is taken as just raised."""
    newest = max(versions.values(), default=0) + 1
    return min(scopes, key=lambda scope: versions.get(scope, newest))


def movie_scope(movie_id: int) -> str:
    return f"movie:{movie_id}"


# Words, for suggestions


def word_bucket(key: str) -> str:
    return f"word:{zlib.crc32(key.encode('utf-8', 'surrogatepass')) % WORD_BUCKETS}"


def word_keys(word: str) -> set[str]:
    """What a movie's ``word`` raises: its first letter, its first three, and each pair of
    neighbouring letters with its position."""
    keys = {f"1:{word[:1]}"}
    if len(word) >= 3:
        keys.add(f"3:{word[:3]}")
    keys.update(f"{start}:{word[start : start + 2]}" for start in range(len(word) - 1))
    return keys


def typed_word_keys(typed: str, edits: int) -> set[str]:
    """Keys of word_keys() that every word beginning within ``edits`` of ``typed`` has.

    Without edits the word begins with ``typed``: its first three letters (or
    fewer) say so. With one or two (``typed`` has four letters or more), a
    beginning within them keeps ``typed``'s first two letters unless an edit
    falls there, and then its last two, at the end of the beginning (at most
    ``edits`` letters shorter or longer), unless another edit falls there.
    Two edits, one at each end, are allowed between words of nine letters or
    more, and leave letters 3 and 4 (counted from 0), shifted by at most one.
    A swap of two letters at an end needs words long enough to allow one edit
    (five letters), and leaves the pair at the other end. tests/test_scopes.py
    checks every word within the edits of many typed words.
    """
    if not edits:
        if len(typed) == 1:
            return {f"1:{typed}"}
        return {f"3:{typed[:3]}"} if len(typed) >= 3 else {f"0:{typed}"}
    keys = {f"0:{typed[:2]}"}
    ends = range(len(typed) - edits, len(typed) + edits + 1)
    keys |= {f"{end - 2}:{typed[-2:]}" for end in ends}
    if edits > 1:
        keys |= {f"{3 + shift}:{typed[3:5]}" for shift in (-1, 0, 1)}
    return keys


def word_scopes(texts: Iterable[str]) -> set[str]:
    """The word buckets of the words of the names and directors of these search_texts."""
    keys: set[str] = set()
    for text in texts:
        for line in name_and_director_lines(text):
            for word in line_words(line).split():
                keys |= word_keys(word)
    return {word_bucket(key) for key in keys}


def movie_text_scopes(texts: Iterable[str], genre_names: Iterable[str]) -> set[str]:
    """What a write of a movie raises for its text: the text buckets of its search_texts
    (as it was and as it is) and of its genres' search_names, and the word buckets of
    its names' and directors' words."""
    texts = list(texts)
    return text_scopes([*texts, *genre_names]) | word_scopes(texts)


def suggestion_scopes(typed: list[str]) -> set[str]:
    """The word buckets suggestions for these typed words (catalog.suggestions) depend on.

    Each typed word that may be corrected, for its corrections and the
    candidates; when none may, the longest, for the candidates (every
    candidate holds a word related to each typed word). Corrections are read
    CANDIDATES_READ at most (catalog.vocabulary): past that many look-alikes
    of one length, a word further off may take a close one's place unseen.
    """
    corrected = [word for word in typed if reach(word)]
    if corrected:
        keys = set().union(*(typed_word_keys(word, reach(word)) for word in corrected))
    elif typed:
        keys = typed_word_keys(max(typed, key=len), 0)
    else:
        keys = set()
    return {word_bucket(key) for key in keys}


def correction_scopes(search: Search, tried: Iterable[Search]) -> set[str] | None:
    """What a search that found nothing depends on, with the corrections ``tried``;
    None when one of them has no term to be scoped by."""
    found = {search_scope(each) for each in (search, *tried)}
    if None in found:
        return None
    scopes = {scope for scope in found if scope is not None}
    for word in corrected_words(search):
        scopes.add(text_bucket(word[:_TRIGRAM]))  # in a word of the vocabulary?
        scopes |= {word_bucket(key) for key in typed_word_keys(word, reach(word))}
    return scopes
