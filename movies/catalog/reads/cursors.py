"""Cursor pages: a signed place in the list's order, from which the next page starts.

An offset counts rows from the start of the list: a deep one costs what it
skips, and a movie added or removed before it shifts every row after it, so a
client reading the whole list skips or repeats some. A cursor names an entry
of the order instead (the ordering field's value and the id of the row a page
ended with), and the page after it starts there, by a range on the ordering's
index: as cheap at row 900,000 as at the first, and no movie present
throughout is skipped or repeated, whatever is written meanwhile. Relevance
has no index to range over: it stays offset-paged, within its cap.

Cursors are opaque to clients and signed with SECRET_KEY; one that was not
given by this list (forged, corrupted, or of another search, filters or
ordering) is refused, naming the parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core import signing

CURSOR = "cursor"
SALT = "catalog.reads.cursors"
NOT_OURS = "Not a cursor this list gave; start again from its first page (an empty cursor)."
OTHER_LIST = (
    "Belongs to another list (its search, filters or ordering differ); start again "
    "from this list's first page (an empty cursor)."
)


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """Where a cursor page starts: past ``entry`` (the ordering field's value, then the
    id) in the list's order, or before it when ``backwards``; at the start without one."""

    entry: tuple | None = None
    backwards: bool = False

    def encode(self, identity: str) -> str:
        """The cursor as a client holds it, bound to the list ``identity`` names."""
        if self.entry is None:
            return ""
        value, pk = self.entry
        fields = [identity, value, pk, self.backwards]
        return signing.Signer(salt=SALT).sign_object(fields, compress=True)

    @classmethod
    def decode(cls, text: str, identity: str) -> Cursor:
        """The cursor a client sent back; InvalidCursor unless this list gave it."""
        if not text.strip():
            return cls()
        try:
            fields = signing.Signer(salt=SALT).unsign_object(text.strip())
        except (signing.BadSignature, ValueError, UnicodeError):
            raise InvalidCursor(NOT_OURS) from None
        if not (isinstance(fields, list) and len(fields) == 4):
            raise InvalidCursor(NOT_OURS)
        owner, value, pk, backwards = fields
        if owner != identity:
            raise InvalidCursor(OTHER_LIST)
        if not (isinstance(value, (int, float, str)) and type(pk) is int):
            raise InvalidCursor(NOT_OURS)
        return cls((value, pk), backwards is True)


def entry_of(row, keys: Sequence[str]) -> tuple:
    """A row's entry in the order of ``keys`` (a field, then the id)."""
    field, tie = (key.lstrip("-") for key in keys)
    return getattr(row, field), getattr(row, tie)


def reversed_keys(keys: Sequence[str]) -> tuple[str, ...]:
    """The same keys in the other direction: a page before an entry is read backwards."""
    return tuple(key[1:] if key.startswith("-") else f"-{key}" for key in keys)
