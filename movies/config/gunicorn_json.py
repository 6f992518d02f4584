"""gunicorn speaking JSON: its access log, and the errors it answers before Django runs.

``movies/config/gunicorn.py`` names both classes. A log line is ``json.dumps``
of the request's fields, so a path holding a quote, a backslash or a control
character is escaped rather than splitting or breaking the line. A request
gunicorn cannot parse (a garbled request line, one too long, bad headers) is
answered in the API's error shape (``catalog.api.errors.error_body``) instead of
gunicorn's HTML page. This module imports nothing from Django: gunicorn loads
it before the app.
"""

from __future__ import annotations

import json
import os
import traceback
from http import HTTPStatus

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.workers.sync import SyncWorker

# What the client is told; gunicorn's own message, which quotes the request, goes
# to the error log only.
BAD_REQUEST = "The request is not valid HTTP."
FORBIDDEN = "The request is forbidden."
URI_TOO_LONG = "The request line is too long."
HEADERS_TOO_LARGE = "The request headers are too large."
EXPECTATION_FAILED = "The request's Expect header cannot be met."
NOT_IMPLEMENTED = "The request's transfer coding is not supported."
SERVER_ERROR = "Internal server error."
# Every status Worker.handle_error answers with: its code and detail.
ERRORS = {
    400: ("bad_request", BAD_REQUEST),
    403: ("forbidden", FORBIDDEN),
    414: ("uri_too_long", URI_TOO_LONG),
    417: ("expectation_failed", EXPECTATION_FAILED),
    431: ("headers_too_large", HEADERS_TOO_LARGE),
    500: ("server_error", SERVER_ERROR),  # as catalog.api.errors.api_server_error
    501: ("not_implemented", NOT_IMPLEMENTED),
}


class JSONAccessLogger(Logger):
    """One JSON object per access-log line, whatever the request held."""

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        try:
            atoms = self.atoms(resp, req, environ, request_time)
            entry = {
                "time": atoms["t"],
                "pid": os.getpid(),
                "remote": atoms["h"],
                # The client, as the proxies in front (nginx) saw it.
                "forwarded_for": _text(environ.get("HTTP_X_FORWARDED_FOR", "")),
                "method": _text(atoms["m"]),
                "path": atoms["U"],  # already decoded (percent escapes, UTF-8)
                "query": _text(atoms["q"]),
                "status": int(atoms["s"]),
                "bytes": atoms["B"],
                "duration_us": atoms["D"],
                "referer": _text(atoms["f"]),
                "user_agent": _text(atoms["a"]),
            }
            self.access_log.info(json.dumps(entry))
        except Exception:
            self.error(traceback.format_exc())


def _text(value: str) -> str:
    """A request's text as it was sent: WSGI hands UTF-8 bytes over as Latin-1 characters."""
    try:
        return value.encode("latin-1").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return value


def error_response(status: int) -> bytes:
    """A complete HTTP response for ``status`` with the API's JSON error body."""
    phrase = HTTPStatus(status).phrase
    code, detail = ERRORS.get(status, ("error", phrase + "."))
    body = json.dumps({"status": status, "code": code, "detail": detail, "errors": {}}).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class _StatusOnly:
    """The client socket as gunicorn's error handler sees it: the status of the HTML
    page it writes is kept and the page is not sent; the rest is the real socket's."""

    def __init__(self, sock) -> None:
        self._sock = sock
        self.status: int | None = None

    def __getattr__(self, name: str):
        return getattr(self._sock, name)

    def sendall(self, data: bytes) -> None:
        # "HTTP/1.1 400 Bad Request\r\n..."
        self.status = int(data.split(b" ", 2)[1])


class JSONErrorSyncWorker(SyncWorker):
    """gunicorn's sync worker, answering the errors it handles itself in JSON.

    gunicorn still decides the status, logs the error and writes the access-log
    line (``Worker.handle_error``); only the body it sends changes.
    """

    def handle_error(self, req, client, addr, exc) -> None:
        page = _StatusOnly(client)
        super().handle_error(req, page, addr, exc)
        if page.status is None:
            return
        try:
            util.write_nonblock(client, error_response(page.status))
        except Exception:
            self.log.debug("Failed to send error message.")
