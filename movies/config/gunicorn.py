"""gunicorn settings: one JSON object per access-log line, for log pipelines."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
logger_class = "config.gunicorn_json.JSONAccessLogger"
accesslog = "-"
errorlog = "-"
