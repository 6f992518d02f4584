import os
import subprocess
import sys

import pytest
from django.conf import settings

from config.settings import MISSING_SECRET_KEY

pytestmark = pytest.mark.slow

MANAGE = str(settings.BASE_DIR / "manage.py")


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, MANAGE, *args], capture_output=True, text=True, env=environment
    )


def test_without_secret_key_and_debug_off_the_app_refuses_to_start():
    result = run_manage("check")
    assert result.returncode != 0
    assert MISSING_SECRET_KEY in result.stderr


def test_debug_mode_runs_with_a_development_key():
    assert run_manage("check", DEBUG="1").returncode == 0


def test_deploy_check_is_clean_in_production_configuration():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="x" * 20 + "production-like-secret-key-with-entropy-0123456789",
        ALLOWED_HOSTS="movies.example.com",
        SECURE_SSL_REDIRECT="1",
        SECURE_PROXY_SSL="1",
    )
    assert result.returncode == 0, result.stderr
    assert "WARNINGS" not in result.stderr
