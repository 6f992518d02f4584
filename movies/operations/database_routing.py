"""Reads from PostgreSQL streaming replicas, writes to the primary.

Installed when DATABASE_REPLICA_URLS is set (see settings), which adds the
aliases ``replica_0``, ``replica_1``, ... beside ``default``, the primary.

A replica replays the primary's changes a moment later, so a read from it may
miss a write that has just been committed. Reads therefore go to the primary
whenever that could be seen:

- Read-your-writes within a request: once a request has written (any write
  routed here, i.e. any ``db_for_write``), its later reads use the primary,
  so a POST answers with what it wrote.
- Requests that may write (any method but GET, HEAD and OPTIONS) and
  back-office requests (the admin; the browsable API and the site's pages
  with a session) read
  from the primary from the start: an update must not start from a stale row,
  and staff who save and are redirected to a list expect to see what they
  saved. What is left for the replicas is the public, anonymous traffic: the
  API's reads and the site's pages.
- Inside an open transaction on the primary (``transaction.atomic``: an
  import by populate_db, a serializer's save, migrations) every read uses the
  primary, which sees the transaction's own uncommitted rows.

Otherwise a read goes to one replica, chosen at random once per request and
kept for the whole request: one replica's replay only moves forward, so the
catalogue version read first (the cache key and ETag) is never newer than the
rows read after it. Outside a request (management commands, shells) each read
picks a replica at random; wrap such code in ``transaction.atomic()`` or
``request_scope(primary=True)`` when it must read its own writes.

The per-request state lives in a context variable holding a mutable object:
under ASGI the view runs in a copy of the context, and mutating the shared
object (rather than calling ``set`` again) keeps a write made there visible
to the rest of the request.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

from catalog.web.requests import is_public_read

PRIMARY = DEFAULT_DB_ALIAS
REPLICA_PREFIX = "replica_"


@dataclass
class RequestState:
    """What the router remembers for one request (or one ``request_scope``)."""

    use_primary: bool = False
    replica: str | None = None


_request_state: ContextVar[RequestState | None] = ContextVar("db_request_state", default=None)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


@contextmanager
def request_scope(*, primary: bool = False) -> Iterator[RequestState]:
    """One unit of read-your-writes: after a write inside it, reads use the primary.

    ``primary=True`` sends every read in the scope to the primary from the start.
    """
    state = RequestState(use_primary=primary)
    token = _request_state.set(state)
    try:
        yield state
    finally:
        _request_state.reset(token)


class PrimaryReplicaRouter:
    """Writes and migrations on ``default``; reads on a replica unless that could be stale."""

    def __init__(self) -> None:
        self.replicas = replica_aliases()
        self.aliases = {PRIMARY, *self.replicas}

    def db_for_read(self, model, **hints) -> str:
        if not self.replicas or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        state = _request_state.get()
        if state is None:
            return random.choice(self.replicas)
        if state.use_primary:
            return PRIMARY
        if state.replica is None:
            state.replica = random.choice(self.replicas)
        return state.replica

    def db_for_write(self, model, **hints) -> str:
        state = _request_state.get()
        if state is not None:
            state.use_primary = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Every alias holds the same data: an object read from a replica may be
        # related to (and saved with) one read from the primary.
        if obj1._state.db in self.aliases and obj2._state.db in self.aliases:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        # Replicas receive the schema through replication; they are read-only.
        return db == PRIMARY


class PrimaryAfterWriteMiddleware:
    """Gives each request its own read-your-writes scope (see the module docstring).

    Put it first in MIDDLEWARE, so that everything the request does, session
    and authentication included, happens inside the scope.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_scope(primary=not is_public_read(request)):
            return self.get_response(request)
