"""gunicorn settings: sync workers that log and answer their own errors in JSON.

``config.gunicorn_json`` writes one JSON object per access-log line, for log
pipelines, and answers requests gunicorn rejects before Django runs in the
API's JSON error shape. In production nginx sits in front (``deploy/nginx.conf``).

gunicorn listens on loopback only: behind nginx on the same machine nothing
else must reach it, since the app trusts the last ``NUM_PROXIES`` entries of
``X-Forwarded-For`` as its proxies' and a client reaching gunicorn directly
could write them itself. Where the proxy reaches the app over the network (a
platform's router in front of a container), listen there explicitly:
``--bind 0.0.0.0:$PORT`` on the command line, or in ``GUNICORN_CMD_ARGS``;
either overrides the address here.
"""

import os

# Seconds a web request's SQL statement may run (config.settings): under the
# worker timeout below, so that the app, not gunicorn, answers a change too slow
# to finish. Management commands run without one.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "25")
timeout = 30

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "config.gunicorn_json.JSONErrorSyncWorker"
logger_class = "config.gunicorn_json.JSONAccessLogger"
accesslog = "-"
errorlog = "-"
