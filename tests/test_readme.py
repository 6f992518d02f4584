"""Every example in the README, run against the catalogue `make run` serves.

The database is the one `make run` creates: migrated, then loaded with
fixtures/imdb.json by populate_db, with fresh ids. Each `curl` line of the
README is replayed through the test client in order; where the README shows
an answer, the answer must be that. Where a `curl` line's comment says what
a list holds, it must hold that: its count ("(85 movies)", which every list
not shown whole states), its order ("most popular first", "highest score
first", "by name") and its length ("the first 10", "20 a page").
"""

from __future__ import annotations

import json
import re
import shlex
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import UserFactory

README = settings.REPO_ROOT / "README.md"
ADMIN_PASSWORD = "a long passphrase"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def commands(block: str) -> list[tuple[str, str | None]]:
    """(command, the answer shown after it as a `# ...` or plain line, if any).

    A command goes on over lines ending in a backslash and over line breaks
    inside quotes.
    """
    lines = re.sub(r"\\\n\s*", " ", block).splitlines()
    found, number = [], 0
    while number < len(lines):
        command = lines[number].strip().removeprefix("$ ")
        number += 1
        if not (command.startswith("curl ") or command.startswith("TOKEN=")):
            continue
        while not _complete(command) and number < len(lines):
            command += " " + lines[number].strip()
            number += 1
        shown = None
        following = lines[number] if number < len(lines) else ""
        if following.startswith("# ") and not following.startswith("# or"):
            shown = following[2:].strip()
        elif following.startswith("{"):
            shown = "\n".join(lines[number:]).strip()
        found.append((command, shown))
    return found


def _complete(command: str) -> bool:
    try:
        shlex.split(command.split("  #")[0])
    except ValueError:
        return False
    return True


def method_of(command: str) -> str:
    words = shlex.split(command.split("  #")[0])
    return words[words.index("-X") + 1] if "-X" in words else "GET"


def curl(client: APIClient, command: str, token: str | None):
    words = shlex.split(command.split("  #")[0].replace("$TOKEN", token or ""))
    method, headers, data, url = "GET", {}, [], None
    words = iter(words[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, value = next(words).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data.append(next(words))
        else:
            url = word
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = {"HTTP_HOST": parts.netloc}
    if "Authorization" in headers:
        extra["HTTP_AUTHORIZATION"] = headers["Authorization"]
    if method == "GET":
        return client.get(path, **extra)
    if headers.get("Content-Type") == "application/json":
        body, content_type = "".join(data), "application/json"
    else:
        body, content_type = "&".join(data), "application/x-www-form-urlencoded"
    return client.generic(method, path, body, content_type=content_type, **extra)


COUNT = re.compile(r"\((\d[\d,]*) (?:movie|genre)s?\)$")
ORDERS = {
    "most popular first": ("popularity", True),
    "highest score first": ("imdb_score", True),
    "by name": ("name", False),
}


def comment(command: str) -> str:
    return command.split("  #", 1)[1].strip() if "  #" in command else ""


def comment_holds(said: str, listing: dict) -> None:
    """What a curl line's comment says of the list it answers."""
    count = COUNT.search(said)
    assert count, f"say how many the list holds, as (N movies): {said!r}"
    assert listing["count"] == int(count.group(1).replace(",", "")), said
    results = listing["results"]
    for words, (field, descending) in ORDERS.items():
        if words in said:
            values = [item[field] for item in results]
            assert values == sorted(values, reverse=descending), said
    if first := re.search(r"the first (\d+)", said):
        assert len(results) == int(first.group(1)), said
    if page := re.search(r"(\d+) a page", said):
        assert len(results) == min(int(page.group(1)), listing["count"]), said


def same_answer(shown: str, response) -> None:
    """The README's answer: a status and a JSON body, possibly elided with `...`."""
    status = re.match(r"(\d{3}) ", shown)
    if status:
        assert response.status_code == int(status.group(1)), response.content
        shown = shown[status.end() :]
    body = response.content.decode()
    if "..." in shown:
        for piece in shown.split("..."):
            assert piece.strip(",") in body, (piece, body)
    else:
        assert json.loads(shown) == json.loads(body)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_readme_example_gives_what_the_readme_shows(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    # make run's single database: no read replica to lag behind the examples' writes.
    settings.DATABASE_ROUTERS = []
    call_command("populate_db", stdout=StringIO())
    UserFactory(superuser=True, username="admin", password=ADMIN_PASSWORD)
    client, token, replayed = APIClient(), None, 0
    text = README.read_text(encoding="utf-8")
    for block in shell_blocks(text):
        for command, shown in commands(block):
            if command.startswith("TOKEN="):
                out = StringIO()
                call_command("api_token", "issue", "admin", stdout=out)
                token = out.getvalue().strip()
                continue
            response = curl(client, command, token)
            status = re.match(r"(\d{3}) ", shown or "")
            if status:
                assert response.status_code == int(status.group(1)), (command, response.content)
            elif shown is not None and shown.startswith("{") and '"status"' in shown:
                assert response.status_code == json.loads(shown)["status"]
            else:
                assert response.status_code in (200, 201), (command, response.content)
            if response.status_code >= 400:
                same_answer(shown, response)
                replayed += 1
                continue
            if "search=" in command and not (shown and '"count":0' in shown):
                assert response.json()["count"] > 0, command
            if method_of(command) == "GET" and shown is None and "count" in response.json():
                comment_holds(comment(command), response.json())
            if shown is not None:
                if shown.startswith('{"token"'):
                    assert set(response.json()) == {"token"}
                else:
                    same_answer(shown, response)
            replayed += 1
    assert replayed >= 15

    movie = re.search(r"A movie .*?```json\n(.*?)```", text, flags=re.S).group(1)
    assert json.loads(movie) == client.get("/api/movies/1", HTTP_HOST="127.0.0.1").json()
