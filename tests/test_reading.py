"""Reading catalogue files: any bytes are refused or read, never more than a record at a time."""

from __future__ import annotations

import gc
import io
import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from catalog import reading
from catalog.models import Genre, Movie
from catalog.reading import UnreadableCatalogue, read_records
from catalog.writes import import_records
from tests.factories import record

MANAGE = str(settings.BASE_DIR / "manage.py")
DEEP = 100_000
HIGH, LOW = "\ud800", "\udc00"  # the two halves of a surrogate pair, alone


def catalogue_bytes(*records) -> bytes:
    """A catalogue file's bytes: the records as a JSON array."""
    # json.dumps writes a lone surrogate in a str as its \u escape.
    return json.dumps(list(records)).encode()


def read(data: bytes) -> list:
    return [raw for _, raw in read_records(io.BytesIO(data))]


def refusal(data: bytes) -> str:
    with pytest.raises(UnreadableCatalogue) as error:
        read(data)
    return str(error.value)


class OneWayStream:
    """A pipe's view of some bytes: read only, in small pieces, and no seeking back."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._data.read(min(size, 1000))
        self.bytes_read += len(data)
        return data


# Reading


def test_records_come_with_their_position_in_the_array():
    data = catalogue_bytes(record(name="First"), record(name="Second"))
    assert [(index, raw["name"]) for index, raw in read_records(io.BytesIO(data))] == [
        (0, "First"),
        (1, "Second"),
    ]


def test_a_stream_that_cannot_seek_is_read_front_to_back():
    data = catalogue_bytes(record(name="First"), record(name="Second"))
    assert [raw["name"] for _, raw in read_records(OneWayStream(data))] == ["First", "Second"]


def test_the_garbage_collector_runs_while_records_are_used_and_after_a_refusal():
    data = catalogue_bytes(*[record(name=f"Movie {n}") for n in range(3000)])[:-1] + b", {]"
    collecting = (gc.isenabled() for _ in read_records(OneWayStream(data)))
    seen = [next(collecting) for _ in range(3000)]
    with pytest.raises(UnreadableCatalogue):
        next(collecting)
    assert seen == [True] * 3000
    assert gc.isenabled()


def test_a_utf8_byte_order_mark_is_skipped():
    assert read(b"\xef\xbb\xbf" + catalogue_bytes(record())) == [record()]


def test_a_byte_order_mark_read_a_byte_at_a_time_is_skipped(monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_BYTES", 1)
    assert read(b"\xef\xbb\xbf" + catalogue_bytes(record())) == [record()]


def test_a_top_level_value_other_than_an_array_is_refused():
    assert refusal(b'{"name": "Heat"}') == reading.NOT_AN_ARRAY


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Invalid JSON in the catalogue: parse error: premature EOF"),
        (
            catalogue_bytes(record(), record())[:-1] + b', {"name": tru}, {}]',
            'record 2: field "name" is not valid JSON '
            "(lexical error: invalid string in json text.)",
        ),
        (
            catalogue_bytes(record())[:-1] + b", {",
            "record 1 is not valid JSON (parse error: premature EOF)",
        ),
        (
            catalogue_bytes(record())[:-1] + b",]",
            "record 1 is not valid JSON (parse error: unallowed token at this point in JSON text)",
        ),
        (
            b'[{"name": "Heat\xffX"}]',
            'record 0: field "name" is not valid JSON '
            "(lexical error: invalid bytes in UTF8 string.)",
        ),
        (
            catalogue_bytes(record()) + b" x",
            "Invalid JSON in the catalogue: parse error: trailing garbage",
        ),
    ],
)
def test_invalid_json_is_refused_naming_the_record_where_it_broke(data, message):
    assert refusal(data) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"[" + b"[" * DEEP + b"]" * DEEP + b"]",
            f"record 0 is nested deeper than {reading.RECORD_MAX_DEPTH} levels",
        ),
        (
            catalogue_bytes(record(), record(genre=[[[[["Drama"]]]]])),
            f'record 1: field "genre" is nested deeper than {reading.RECORD_MAX_DEPTH} levels',
        ),
        (
            b'[{"name": "Heat", "extra": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}]",
            f'record 0: field "extra" is nested deeper than {reading.RECORD_MAX_DEPTH} levels',
        ),
    ],
)
def test_nesting_deeper_than_a_record_needs_is_refused(data, message):
    assert refusal(data) == message


def test_extra_fields_nested_within_the_limit_are_read():
    extra = {"a": {"b": ["c"]}}
    assert read(catalogue_bytes({**record(), "extra": extra})) == [{**record(), "extra": extra}]


def test_a_record_over_the_size_limit_is_refused_before_it_is_read_whole():
    huge = b'[{"genre": ["Drama"], "name": "' + b"a" * (5 * reading.RECORD_MAX_BYTES) + b'"}]'
    stream = OneWayStream(huge)
    with pytest.raises(UnreadableCatalogue) as error:
        list(read_records(stream))
    assert str(error.value) == (
        'record 0: field "name" is too large: a record may take at most 1,048,576 bytes'
    )
    assert stream.bytes_read <= reading.RECORD_MAX_BYTES + 2 * reading.CHUNK_BYTES


def test_many_records_larger_together_than_the_size_limit_are_read():
    records = [record(name="x" * 200, genre=["y" * 200]) for _ in range(10_000)]
    assert len(read(catalogue_bytes(*records))) == 10_000


def test_a_record_just_under_the_size_limit_is_read():
    name = "a" * (reading.RECORD_MAX_BYTES - reading.CHUNK_BYTES - 200)
    assert read(catalogue_bytes(record(), record(name=name), record())) == [
        record(),
        record(name=name),
        record(),
    ]


@pytest.mark.parametrize("digits", ["1" * 5000, "1" * 30, "1e999", "-1e400"])
def test_a_number_too_large_to_read_is_refused_naming_the_field(digits):
    number = digits.encode()
    data = catalogue_bytes(record())[:-1] + b', {"name": "Heat", "imdb_score": ' + number + b"}]"
    assert refusal(data) == 'record 1: field "imdb_score" is a number too large to read'


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (record(name="Heat" + HIGH), "name"),  # yajl would read "Heat?"
        (record(name=HIGH), "name"),
        (record(name="Heat" + LOW), "name"),
        (record(name=LOW + HIGH), "name"),  # the halves in the wrong order
        (record(director=HIGH + "A"), "director"),  # yajl would fuse these into U+10041
        (record(genre=["Drama", HIGH]), "genre"),
        (record(genre=["Drama", LOW]), "genre"),
        ({**record(), "extra": {"deeper": [HIGH]}}, "extra"),
    ],
)
def test_a_lone_surrogate_escape_is_refused_naming_the_field(bad, field):
    assert refusal(catalogue_bytes(record(), bad)) == (
        f'record 1: field "{field}" has a \\u escape of half a surrogate pair'
    )


def test_a_lone_surrogate_escape_in_a_field_name_is_refused():
    assert refusal(catalogue_bytes({**record(), "na\ud800me": "Heat"})) == (
        "record 0: a field name has a \\u escape of half a surrogate pair"
    )


@pytest.mark.parametrize(
    ("data", "at"),
    [
        (b'[{"name": "Heat", "genre": ["Dr\xed\xa0\x80ama"]}]', 'record 0: field "genre"'),
        (b'[{"name": "Heat\xc0\xaf"}]', 'record 0: field "name"'),
        (b'[{"name": "Heat", "x\xed\xb0\x80": 1}]', "record 0: a field name"),
    ],
)
def test_bytes_that_are_not_utf8_are_refused_naming_the_field(data, at):
    assert refusal(data) == f"{at} is not valid UTF-8"


ESCAPES = (
    # a pair, an escaped backslash before "ud800", and three backslashes
    # (an escaped one, then a pair's escape), with an accent between
    r'[{"name": "a\ud83c\udfacb\\ud800c\u00e9\\\ud83c\udfacd\\\\"}, {"name": "z\ud800"}]'
)


@pytest.mark.parametrize("chunk_bytes", range(1, 24))
def test_escapes_split_between_reads_are_read_as_written(monkeypatch, chunk_bytes):
    monkeypatch.setattr(reading, "CHUNK_BYTES", chunk_bytes)
    first, second = ESCAPES.split(", ")
    assert read((first + "]").encode()) == json.loads(first + "]")
    with pytest.raises(UnreadableCatalogue, match='record 1: field "name" has a'):
        read(ESCAPES.encode())


def test_surrogate_pairs_and_escaped_backslashes_are_read_as_written():
    names = ["🎬 Heat", "back\\ud800slash", "\\\\", "é\\", "\\" * 1000]
    assert read(catalogue_bytes(*(record(name=name) for name in names))) == [
        record(name=name) for name in names
    ]


# Through populate_db


HOSTILE = [
    pytest.param(
        b"[" + b"[" * DEEP + b"]" * DEEP + b"]",
        "record 0 is nested deeper than 4 levels",
        id="nested-100000-deep",
    ),
    pytest.param(
        catalogue_bytes(record())[:-1]
        + b', {"name": "Heat", "imdb_score": '
        + b"9" * 5000
        + b"}]",
        'record 1: field "imdb_score" is a number too large to read',
        id="5000-digits",
    ),
    pytest.param(
        catalogue_bytes(record(), record(name="Heat\ud800")),
        'record 1: field "name" has a \\u escape of half a surrogate pair',
        id="lone-surrogate-in-name",
    ),
    pytest.param(
        catalogue_bytes(record(), record(), record(genre=["Drama", "\ud800"])),
        'record 2: field "genre" has a \\u escape of half a surrogate pair',
        id="lone-surrogate-in-genre",
    ),
    pytest.param(
        catalogue_bytes(*[record(name=f"Movie {n}") for n in range(5000)])[:-1] + b", {]",
        "record 5000 is not valid JSON (parse error: invalid object key (must be a string))",
        id="invalid-json-after-5000-records",
    ),
    pytest.param(
        b'[{"name": "' + b"a" * (2 * reading.RECORD_MAX_BYTES) + b'"}]',
        'record 0: field "name" is too large: a record may take at most 1,048,576 bytes',
        id="a-2-MiB-name",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "message"), HOSTILE)
def test_a_hostile_file_is_refused_naming_the_record_and_nothing_is_written(
    tmp_path, data, message
):
    import_records(records=[record(name="Kept", genre=["Kept"])])
    path = tmp_path / "hostile.json"
    path.write_bytes(data)
    with pytest.raises(CommandError) as error:
        call_command("populate_db", str(path), stdout=StringIO())
    assert str(error.value) == f"{path}: {message}"
    assert list(Movie.objects.values_list("name", flat=True)) == ["Kept"]
    assert list(Genre.objects.values_list("name", flat=True)) == ["Kept"]


@pytest.mark.django_db
def test_a_catalogue_with_a_byte_order_mark_is_imported(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + catalogue_bytes(record(), record(name="Ran")))
    call_command("populate_db", str(path), stdout=StringIO())
    assert set(Movie.objects.values_list("name", flat=True)) == {"Heat", "Ran"}


@pytest.mark.django_db
def test_populate_db_dash_reads_standard_input(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(catalogue_bytes(record(), record(name="Ran"))))
    monkeypatch.setattr(sys, "stdin", stdin)
    out = StringIO()
    call_command("populate_db", "-", stdout=out)
    assert "Imported 2 movies from <stdin>" in out.getvalue()
    assert Movie.objects.count() == 2


@pytest.mark.django_db
def test_populate_db_names_standard_input_in_its_errors(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(catalogue_bytes(record(), record(score=12))))
    monkeypatch.setattr(sys, "stdin", stdin)
    with pytest.raises(CommandError, match='^<stdin>: record 1: field "imdb_score"'):
        call_command("populate_db", "-", stdout=StringIO())
    assert Movie.objects.count() == 0


@pytest.mark.django_db
def test_populate_db_reads_a_fifo(tmp_path):
    fifo = tmp_path / "catalogue.fifo"
    os.mkfifo(fifo)
    data = catalogue_bytes(*[record(name=f"Movie {n}") for n in range(3000)])

    def write() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    out = StringIO()
    call_command("populate_db", str(fifo), stdout=out)
    writer.join(timeout=10)
    assert "Imported 3000 movies" in out.getvalue()
    assert Movie.objects.count() == 3000


# In a process of its own: exit codes, signals and memory


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("reading") / "catalogue.sqlite3"
    assert manage(database, "migrate", "--no-input").returncode == 0
    return database


def manage(database: Path, *args: str, stdin: bytes = b"") -> Finished:
    """Run manage.py; its own peak memory comes from wait4, not from the tests' process."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": str(settings.REPO_ROOT),
    }
    out, err = (database.parent / "stdout", database.parent / "stderr")
    started = time.monotonic()
    with out.open("w+") as stdout, err.open("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, MANAGE, *args],
            env=env,
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
        )
        # A safety net, should reading ever grow with the file again.
        resource.prlimit(process.pid, resource.RLIMIT_AS, (4 << 30, 4 << 30))
        killer = threading.Timer(120, process.kill)
        killer.start()
        try:
            process.stdin.write(stdin)
            process.stdin.close()
        except BrokenPipeError:
            pass
        _, status, usage = os.wait4(process.pid, 0)
        killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Finished(
        returncode=process.returncode,
        stdout=out.read_text(),
        stderr=err.read_text(),
        peak_rss_mb=usage.ru_maxrss / 1024,
        seconds=time.monotonic() - started,
    )


@pytest.mark.slow
def test_a_file_nested_100000_deep_is_refused_quickly_in_bounded_memory(migrated, tmp_path):
    small, deep = tmp_path / "small.json", tmp_path / "deep.json"
    small.write_bytes(catalogue_bytes(record(name="Small")))
    deep.write_bytes(b"[" + b"[" * DEEP + b"]" * DEEP + b"]")
    baseline = manage(migrated, "populate_db", str(small), "--no-progress")
    assert baseline.returncode == 0, baseline.stderr

    refused = manage(migrated, "populate_db", str(deep), "--no-progress")

    assert refused.returncode == 1
    assert f"{deep}: record 0 is nested deeper than 4 levels" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert refused.peak_rss_mb - baseline.peak_rss_mb < 100
    assert refused.seconds < baseline.seconds + 10


@pytest.mark.slow
def test_a_5000_digit_number_exits_1_with_a_message_not_a_signal(migrated, tmp_path):
    path = tmp_path / "digits.json"
    path.write_bytes(
        catalogue_bytes(record())[:-1] + b', {"name": "Heat", "imdb_score": ' + b"9" * 5000 + b"}]"
    )
    refused = manage(migrated, "populate_db", str(path))
    assert refused.returncode == 1
    assert f'{path}: record 1: field "imdb_score" is a number too large to read' in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr


@pytest.mark.slow
def test_populate_db_dash_imports_what_is_piped_in(migrated, tmp_path):
    database = tmp_path / "piped.sqlite3"
    database.write_bytes(migrated.read_bytes())
    piped = manage(
        database, "populate_db", "-", stdin=catalogue_bytes(record(), record(name="Ran"))
    )
    assert piped.returncode == 0, piped.stderr
    assert "Imported 2 movies from <stdin>" in piped.stdout

    refused = manage(
        database, "populate_db", "-", stdin=catalogue_bytes(record(name="Heat\ud800"))
    )
    assert refused.returncode == 1
    assert '<stdin>: record 0: field "name" has a \\u escape' in refused.stderr
