"""Reading the API's answers in tests."""

from __future__ import annotations


def names(response) -> list[str]:
    """The names of the movies a 200 answer lists, in order."""
    assert response.status_code == 200, response.content
    return [movie["name"] for movie in response.json()["results"]]
