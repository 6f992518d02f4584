"""Every recorded request gets, byte for byte, the answer recorded for it.

tests/support/recorded.py lists the requests (REQUESTS): the movie list with
its searches, filters, orders and pages, did_you_mean, suggestions, genres,
movies, refused parameters, unknown URLs, and the site's pages. Each is sent
anonymously to fixtures/imdb.json, loaded into an empty catalogue (so the ids
are the fixture's positions from 1, on SQLite and PostgreSQL alike), and its
status, the headers clients act on and its body must be those recorded in
tests/recorded/answers.json. A difference names the request and shows how
the answer differs (JSON with one line per movie).

To record the answers again, after a change meant to change them:

    RECORD_ANSWERS=1 make test PYTEST_ARGS=tests/test_recorded_answers.py

then read the diff of tests/recorded/answers.json before committing it.
Adding a request to REQUESTS takes recording too: the test fails until the
file holds an answer for every request, and only for those.

Each answer is the one a fresh server gives: the response cache is emptied
before each request (which also empties the throttles' history). The request
is then sent again, and the answer replayed from the cache must be the same.

Lists by name are in the database's collation. The answers are recorded in
code point order, which is SQLite's and that of PostgreSQL databases with
the C or C.UTF-8 collation; on a database that sorts text otherwise (``en``:
case, accents and punctuation set aside) the answers of requests ordered by
name are not compared, and a warning lists them; recording there is refused.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from catalog.api.pagination import CatalogPagination
from catalog.models import CatalogueVersion, Movie
from catalog.writes import import_file
from tests.conftest import FIXTURE_PATH
from tests.support.recorded import (
    ANSWERS_PATH,
    DIFFERENCES_SHOWN,
    REQUESTS,
    RecordedRequest,
    answer_of,
    describe,
    difference,
    read_answers,
    write_answers,
)

RECORDING = os.environ.get("RECORD_ANSWERS") == "1"
CLIENT_ADDRESS = "192.0.2.1"


def key(entry: dict) -> str:
    """What identifies a recorded request: its kind, label and what is sent."""
    return json.dumps([entry["kind"], entry["label"], entry["request"]], sort_keys=True)


def orders_names_by_code_point() -> bool:
    """Whether the database lists the catalogue's names in code point order."""
    names = list(Movie.objects.order_by("name", "id").values_list("name", flat=True))
    return names == sorted(names)


def answer(client: Client, request: RecordedRequest, *, version: int, monkeypatch) -> dict:
    """The request as recorded and its answer, from an empty response cache.

    With ``replayed`` when sending it again (answered from the cache) answers differently.
    """
    with monkeypatch.context() as patch:
        if request.count_limit is not None:
            patch.setattr(CatalogPagination, "count_limit", request.count_limit)
        cache.clear()
        first = answer_of(request.send(client, remote_addr=CLIENT_ADDRESS), version=version)
        again = answer_of(request.send(client, remote_addr=CLIENT_ADDRESS), version=version)
    entry = {**request.as_json(), **first}
    replayed = difference(first, again, names=("first", "from the cache"))
    if replayed is not None:
        entry["replayed"] = replayed
    return entry


def compared(answers: list[dict], *, skipped: set[str]) -> list[str]:
    """What differs from the recording, one report each: requests sent but not recorded
    and recorded but no longer sent first, then answers that differ."""
    recorded = {key(entry): entry for entry in read_answers()}
    now = {key(entry): entry for entry in answers}
    problems = [f"{describe(e)}\nnot recorded" for k, e in now.items() if k not in recorded]
    problems += [
        f"{describe(e)}\nrecorded, no longer sent" for k, e in recorded.items() if k not in now
    ]
    for entry_key, entry in recorded.items():
        if entry_key in now and entry_key not in skipped:
            found = difference(entry, now[entry_key])
            if found is not None:
                problems.append(f"{describe(entry)}\n{found}")
    return problems


def report(problems: list[str], sent: int) -> str:
    shown = "\n\n".join(problems[:DIFFERENCES_SHOWN])
    more = len(problems) - DIFFERENCES_SHOWN
    return (
        f"{len(problems)} of {sent} requests are not answered as {ANSWERS_PATH.name} "
        f"records (see {Path(__file__).name}'s docstring to record them again):\n\n{shown}"
        + (f"\n\n... and {more} more" if more > 0 else "")
    )


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_recorded_request_gets_its_recorded_answer(settings, monkeypatch):
    # Every read from the primary: with read replicas, what the test has just
    # loaded may not have reached them yet, and the test may only use the
    # primary's alias (tests/test_replicas.py tests the routing).
    settings.DATABASE_ROUTERS = []
    # Corrections get all the time they need: a busy machine must not take
    # did_you_mean out of an answer (tests/test_vocabulary.py tests the budget).
    settings.CORRECTION_BUDGET_MS = 60_000
    # The default, whatever the environment says: it is in every Cache-Control recorded.
    settings.API_CACHE_MAX_AGE = 30
    # Django logs each 400 and 404 it answers: those asked for would bury a report.
    monkeypatch.setattr(logging.getLogger("django.request"), "disabled", True)
    import_file(path=FIXTURE_PATH)
    version = CatalogueVersion.current()
    by_code_point = orders_names_by_code_point()
    assert by_code_point or not RECORDING, (
        "this database does not sort names by code point: record on SQLite or on a "
        "PostgreSQL database with the C.UTF-8 collation"
    )
    client = Client()
    answers = [
        answer(client, request, version=version, monkeypatch=monkeypatch) for request in REQUESTS
    ]
    replayed = [
        f"{describe(entry)}\n{entry.pop('replayed')}" for entry in answers if "replayed" in entry
    ]
    assert not replayed, "answered differently from the cache:\n\n" + "\n\n".join(replayed)
    if RECORDING:
        write_answers(answers)
        return

    skipped = set()
    if not by_code_point:
        skipped = {key(request.as_json()) for request in REQUESTS if request.by_name}
        warnings.warn(
            f"{len(skipped)} answers ordered by name not compared: this database's "
            "collation does not sort names by code point, as the recording's did",
            stacklevel=1,
        )
    problems = compared(answers, skipped=skipped)
    if problems:
        pytest.fail(report(problems, len(answers)), pytrace=False)
