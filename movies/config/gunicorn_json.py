"""gunicorn's access log as JSON: one object per line, whatever the request held.

``movies/config/gunicorn.py`` names the logger class. A line is ``json.dumps``
of the request's fields, so a path holding a quote, a backslash or a control
character is escaped rather than splitting or breaking the line. This module
imports nothing from Django: gunicorn loads it before the app.
"""

from __future__ import annotations

import json
import os
import traceback

from gunicorn.glogging import Logger


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
                "method": atoms["m"],
                "path": atoms["U"],
                "query": atoms["q"],
                "status": int(atoms["s"]),
                "bytes": atoms["B"],
                "duration_us": atoms["D"],
                "referer": atoms["f"],
                "user_agent": atoms["a"],
            }
            self.access_log.info(json.dumps(entry))
        except Exception:
            self.error(traceback.format_exc())
