"""The fastest WSGI app gunicorn can serve: fixed bytes, read once at start-up.

The upper bound for bench/throughput_bench.py: the same body the real API
returns, with no framework, routing or database. ``BARE_APP_BODY`` names the
file holding the body (the benchmark captures it from the real app first).

From the repository root:
``BARE_APP_BODY=/tmp/body.json gunicorn bench.bare_app:application --workers 2``
"""

import os
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

with open(os.environ["BARE_APP_BODY"], "rb") as stream:
    BODY = stream.read()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
