"""The real settings, with a throwaway SECRET_KEY so the suite runs without one."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from config.settings import *  # noqa: E402, F403

# No collectstatic before tests: serve static files without the manifest.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# Corrections get a second rather than production's 60 ms: the tests of their quality
# must not depend on how busy the machine is (tests/test_vocabulary.py tests the budget).
CORRECTION_BUDGET_MS = 1000
