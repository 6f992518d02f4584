"""Reading catalogue files: bytes in, raw records out, whatever the bytes are.

A catalogue is a JSON array of records. Any file may be handed to the
importer, so reading is bounded by what one legitimate record needs, not by
what the file asks for: a record may take at most RECORD_MAX_BYTES and nest at
most RECORD_MAX_DEPTH levels, however the bytes are arranged (one huge token,
brackets nested a million deep). Every refusal names the record (its position
in the array, from 0) and, where there is one, the field.

The file is parsed by ijson's C backend at the level of events (no path
prefixes, which grow with the nesting), and the records are built here, where
their size and depth can be bounded. Numbers are converted by the C parser
itself (``use_float``: 64-bit integers and doubles, anything larger refused):
the arbitrary-precision path hands the digits to Python, which refuses an
integer of more than 4,300 digits from inside the parser's callback, and ijson
then crashes the process. Escapes of half a surrogate pair are found in the
bytes, before yajl would turn them into "?" or another character.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import ijson

CHUNK_BYTES = 64 * 1024
RECORD_MAX_BYTES = 1024 * 1024
RECORD_MAX_DEPTH = 4
BOM = b"\xef\xbb\xbf"

NOT_AN_ARRAY = "The catalogue must be a JSON array of movie objects."
INVALID_JSON = "Invalid JSON in the catalogue: {reason}"
AT_RECORD = "record {index}"
AT_FIELD = 'record {index}: field "{field}"'
AT_FIELD_NAME = "record {index}: a field name"
NOT_JSON = "{at} is not valid JSON ({reason})"
NUMBER_TOO_LARGE = "{at} is a number too large to read"
NOT_UTF8 = "{at} is not valid UTF-8"
LONE_SURROGATE = "{at} has a \\u escape of half a surrogate pair"
TOO_DEEP = "{at} is nested deeper than {max_depth} levels"
TOO_LARGE = "{at} is too large: a record may take at most {max_bytes:,} bytes"

# What an unpaired surrogate escape is rewritten to before parsing: yajl
# would silently turn a lone high surrogate into "?" or fuse it with the
# next escape. U+FFFF is a noncharacter, so no title holds it legitimately.
_LONE_SURROGATE_MARK = "\uffff"
# A surrogate escape (a high+low pair, or either half alone) that is not
# itself escaped: an even run of backslashes before it, preceded by none.
_SURROGATE_ESCAPE = re.compile(
    rb"(?<!\\)(?:\\\\)*"
    rb"(\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    rb"|\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)
# Enough to see a pair whole: an escape starting this far from the end of a
# chunk is complete, and so is the escape that may follow it.
_ESCAPE_WINDOW = 18
_FIELD_SHOWN = 40


class UnreadableCatalogue(ValueError):
    """Bytes that are not a catalogue; the message names the record and field."""


def read_records(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, raw)`` for each element of the top-level JSON array.

    ``stream`` is only read, front to back, so a pipe or standard input works
    as well as a file. A leading UTF-8 byte order mark is skipped. Raises
    UnreadableCatalogue at the first element that cannot be read; the elements
    before it have been yielded.
    """
    events = ijson.sendable_list()
    parser = ijson.basic_parse_coro(events, use_float=True)
    builder = _RecordBuilder()
    escapes = _SurrogateEscapes()
    unfinished = 0  # bytes parsed since the chunk in which the last record ended
    for data in _chunks(stream):
        failure: Exception | None = None
        with _collector_paused():
            try:
                ready = escapes.marked(data, final=not data)
                if ready:
                    parser.send(ready)
                if not data:
                    parser.close()
            except (ijson.JSONError, ValueError) as error:
                failure = error
            # The events before a failure tell where it is; the records they
            # complete come first, as one of them may hold an earlier problem.
            records = builder.take(events, suspect=escapes.found)
        yield from records
        if isinstance(failure, UnicodeDecodeError):
            raise builder.error(NOT_UTF8, where="name")
        if failure:
            raise builder.parse_error(failure)
        # The record being read began no later than this chunk if one ended
        # here, so it is at least ``unfinished`` bytes long.
        unfinished = 0 if records else unfinished + len(data)
        if unfinished > RECORD_MAX_BYTES:
            raise builder.error(TOO_LARGE, max_bytes=RECORD_MAX_BYTES)
        del events[:]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while one chunk is parsed.

    Each chunk makes thousands of event tuples and containers, none in a
    cycle and all freed or kept by reference counting; counted towards
    collections, they made importing 15% slower.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream's bytes without a leading byte order mark, then one empty chunk."""
    data = stream.read(CHUNK_BYTES)
    while data and len(data) < len(BOM) and BOM.startswith(data):
        more = stream.read(CHUNK_BYTES)
        if not more:
            break
        data += more
    if data.startswith(BOM):
        data = data[len(BOM) :] or stream.read(CHUNK_BYTES)
    while data:
        yield data
        data = stream.read(CHUNK_BYTES)
    yield b""


class _SurrogateEscapes:
    """Rewrites ``\\u`` escapes of unpaired surrogates to _LONE_SURROGATE_MARK.

    Works chunk by chunk: a tail that could be an escape cut in two, or a
    high half whose low half is still unread, is held back for the next chunk,
    from the start of its run of backslashes so that the run's parity (is the
    backslash itself escaped?) is known.
    """

    def __init__(self) -> None:
        self.held = b""
        self.found = False

    def marked(self, data: bytes, *, final: bool) -> bytes:
        data = self.held + data
        cut = len(data)
        if not final:
            backslash = data.find(b"\\", max(0, len(data) - _ESCAPE_WINDOW))
            if backslash != -1:
                cut = len(data[:backslash].rstrip(b"\\"))
        if b"\\ud" in data or b"\\uD" in data:
            data, cut = self._mark(data, cut)
        self.held = data[cut:]
        return data[:cut]

    def _mark(self, data: bytes, cut: int) -> tuple[bytes, int]:
        parts = []
        done = 0
        for match in _SURROGATE_ESCAPE.finditer(data):
            if match.start() >= cut:
                break
            if match.end() > cut:
                cut = match.start()  # a pair split by the cut: keep it whole
                break
            if len(match.group(1)) == 12:
                continue  # a high and a low half: one character
            start = match.start(1)
            parts += [data[done:start], b"\\uffff"]
            done = start + 6
            self.found = True
        if not parts:
            return data, cut
        return b"".join([*parts, data[done:]]), cut


class _RecordBuilder:
    """Builds records from parser events, bounding their depth."""

    def __init__(self) -> None:
        self.started = False
        self.records: list[Any] = []  # the top-level array: records not yet handed out
        self.count = 0  # records handed out
        # The container being built, whether it is a dict, and its current key;
        # the enclosing ones as (container, is_dict, key), outermost first.
        self.top: Any = None
        self.is_dict = False
        self.key: Any = None
        self.frames: list[tuple[Any, bool, Any]] = []
        self.last_event = ""

    def take(self, events: list[tuple[str, Any]], *, suspect: bool) -> list[tuple[int, Any]]:
        """Apply ``events``; return the records they completed, with their indexes.

        ``suspect``: unpaired surrogate escapes were marked, so look for the mark.
        """
        if events and not self.started:
            if events[0][0] != "start_array":
                raise UnreadableCatalogue(NOT_AN_ARRAY)
            self.started = True
        frames = self.frames
        top, is_dict, key = self.top, self.is_dict, self.key
        # The loop runs once per token of the file: hence the locals and the
        # order of the tests (the most frequent events first).
        for event, value in events:
            if event == "map_key":
                if suspect and _LONE_SURROGATE_MARK in value:
                    self.top, self.is_dict, self.key = top, is_dict, key
                    where = "name" if len(frames) == 2 else "value"
                    raise self.error(LONE_SURROGATE, where=where)
                key = value
            elif event == "string":
                if suspect and _LONE_SURROGATE_MARK in value:
                    self.top, self.is_dict, self.key = top, is_dict, key
                    raise self.error(LONE_SURROGATE, where="value")
                if is_dict:
                    top[key] = value
                else:
                    top.append(value)
            elif event == "number" or event == "boolean" or event == "null":
                if is_dict:
                    top[key] = value
                else:
                    top.append(value)
            elif event == "start_map" or event == "start_array":
                if len(frames) > RECORD_MAX_DEPTH:
                    self.top, self.is_dict, self.key = top, is_dict, key
                    raise self.error(TOO_DEEP, where="value", max_depth=RECORD_MAX_DEPTH)
                frames.append((top, is_dict, key))
                if top is None:
                    top = self.records
                    is_dict = False
                elif event == "start_map":
                    top = {}
                    is_dict = True
                else:
                    top = []
                    is_dict = False
                key = None
            else:  # end_map, end_array
                value = top
                top, is_dict, key = frames.pop()
                if is_dict:
                    top[key] = value
                elif top is not None:
                    top.append(value)
        self.top, self.is_dict, self.key = top, is_dict, key
        if events:
            self.last_event = events[-1][0]
        records = list(enumerate(self.records, self.count))
        self.count += len(records)
        self.records.clear()
        return records

    def at(self, *, where: str | None = None) -> str | None:
        """Where reading is: the record and, if known, the field or its name.

        ``where`` says whether the token being read is a value or a field's
        name; by default, the last event tells.
        """
        frames = self.frames
        if not frames:
            return None  # before the top-level array, or after it
        index = self.count + len(self.records)
        if len(frames) == 1:
            return AT_RECORD.format(index=index)
        record_is_dict, field = (
            (self.is_dict, self.key) if len(frames) == 2 else (frames[2][1], frames[2][2])
        )
        if not record_is_dict:
            return AT_RECORD.format(index=index)
        if len(frames) == 2 and where != "value" and self.last_event != "map_key":
            # Between a record's fields: what comes next is a field's name.
            return (AT_FIELD_NAME if where == "name" else AT_RECORD).format(index=index)
        field = str(field)
        shown = json.dumps(field[:_FIELD_SHOWN], ensure_ascii=False)[1:-1]
        if len(field) > _FIELD_SHOWN:
            shown += "…"
        return AT_FIELD.format(index=index, field=shown)

    def error(
        self, message: str, *, where: str | None = None, **details: Any
    ) -> UnreadableCatalogue:
        at = self.at(where=where) or "the catalogue"
        return UnreadableCatalogue(message.format(at=at, **details))

    def parse_error(self, error: Exception) -> UnreadableCatalogue:
        reason = error.args[0] if error.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        reason = (str(reason).strip().splitlines() or [""])[0].strip()
        at = self.at()
        if at is None:
            return UnreadableCatalogue(INVALID_JSON.format(reason=reason))
        if "overflow" in reason:
            return UnreadableCatalogue(NUMBER_TOO_LARGE.format(at=at))
        return UnreadableCatalogue(NOT_JSON.format(at=at, reason=reason))
