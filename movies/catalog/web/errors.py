"""The database out of reach: how a web answer says so."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# A database that is down or unreachable (a statement cancelled is an OperationalError too).
DatabaseUnavailable = (OperationalError, InterfaceError)
# Seconds a client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 5
