"""End-to-end tests: the live server driven by Debian's headless Chromium through Playwright.

They skip, with the reason, where /usr/bin/chromium or the playwright package is missing
(``.ci/install-browser`` installs the browser). The browser only ever talks to the live
server: every request to another host is aborted, so a page that needs the internet fails
here as it would behind a firewall.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ARTIFACTS_ROOT = settings.REPO_ROOT / "test-artifacts" / "e2e"
# How Chromium's console reports what a page's Content-Security-Policy refused.
POLICY_REFUSAL = "Content Security Policy"
# Generous for a loaded CI machine, short enough that a stuck step fails well inside 30 s.
STEP_TIMEOUT_MS = 10_000
PLAYWRIGHT_MISSING = "playwright is not installed (pip install -r requirements-dev.txt)"


def pytest_configure(config):
    # Also registered here so that --strict-markers accepts it whatever pytest.ini says.
    config.addinivalue_line("markers", "e2e: drives a real headless Chromium")


def missing_browser() -> str | None:
    """Why the e2e tests cannot run here, or None when they can."""
    if not CHROMIUM_PATH.exists():
        return f"{CHROMIUM_PATH} is missing (bash .ci/install-browser installs it)"
    if importlib.util.find_spec("playwright") is None:
        return PLAYWRIGHT_MISSING
    return None


def pytest_collection_modifyitems(config, items):
    reason = missing_browser()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or parts.hostname in LOCAL_HOSTS


@pytest.fixture
def artifacts_dir(request) -> Path:
    """test-artifacts/e2e/<test-name>/, emptied of an earlier run's screenshots."""
    path = ARTIFACTS_ROOT / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def browser(transactional_db, live_server, monkeypatch) -> Iterator:
    """Debian's Chromium, for one test; the live server and its database outlive it."""
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread, and Django refuses ORM
    # calls from a thread with a running loop; the test's own queries are synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=STEP_TIMEOUT_MS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # Under sync_playwright() the test's ORM calls get connections of their own;
            # left open, PostgreSQL refuses to drop the test database at the end.
            connections.close_all()


@pytest.fixture
def new_page(request, browser, live_server, artifacts_dir) -> Iterator[Callable[..., Any]]:
    """Opens a page in a browser context of its own, with the context's options:
    ``new_page(width=390, color_scheme="dark", java_script_enabled=False)``.

    Each page talks to the live server only; when the test fails, each open page is
    saved as a screenshot. Anything a page's Content-Security-Policy refuses fails
    the test, unless the page is opened with ``refusals_expected=True``.
    """
    contexts = []
    refused: list[str] = []

    def open_page(
        *, width: int = 1280, height: int = 900, refusals_expected: bool = False, **options: Any
    ):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}, **options
        )
        context.set_default_timeout(STEP_TIMEOUT_MS)
        context.route(
            "**/*",
            lambda route: route.continue_() if is_local(route.request.url) else route.abort(),
        )
        contexts.append(context)
        opened = context.new_page()
        if not refusals_expected:
            opened.on(
                "console",
                lambda message: (
                    refused.append(message.text) if POLICY_REFUSAL in message.text else None
                ),
            )
        return opened

    try:
        yield open_page
    finally:
        if getattr(request.node, "e2e_failed", False):
            for number, context in enumerate(contexts, start=1):
                for opened in context.pages:
                    # A page that cannot be shot must not hide the failure.
                    with suppress(Exception):
                        name = "99-failure.png" if number == 1 else f"99-failure-{number}.png"
                        opened.screenshot(path=artifacts_dir / name, full_page=True)
        for context in contexts:
            context.close()
    if refused:
        pytest.fail("Content-Security-Policy refused: " + " | ".join(refused))


@pytest.fixture
def page(new_page):
    """A fresh browser page, 1280 pixels wide."""
    return new_page()


@pytest.fixture
def screenshot(request, artifacts_dir) -> Callable[..., Path]:
    """Save a page (the test's ``page`` unless ``of`` is given) as
    test-artifacts/e2e/<test-name>/<NN-step>.png, numbered in order."""
    taken: list[Path] = []

    def take(step: str, of=None) -> Path:
        shot = of if of is not None else request.getfixturevalue("page")
        path = artifacts_dir / f"{len(taken) + 1:02d}-{step}.png"
        shot.screenshot(path=path, full_page=True)
        taken.append(path)
        return path

    return take
