"""gunicorn settings: sync workers that log and answer their own errors in JSON.

``config.gunicorn_json`` writes one JSON object per access-log line, for log
pipelines, and answers requests gunicorn rejects before Django runs in the
API's JSON error shape. In production nginx sits in front (``deploy/nginx.conf``).
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "config.gunicorn_json.JSONErrorSyncWorker"
logger_class = "config.gunicorn_json.JSONAccessLogger"
accesslog = "-"
errorlog = "-"
