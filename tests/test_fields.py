"""Every place that must know a movie's fields knows each of them.

A movie's own fields are those a writer gives (the model's editable fields);
adding one to the model makes this test name each place still to change.
"""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest
from django.conf import settings

from catalog import bulk, importer, writes
from catalog.admin import MovieAdmin, MovieForm
from catalog.api.serializers import MovieSerializer, MovieWriteSerializer
from catalog.models import LISTED_FIELDS, ListedMovie, Movie

OWN_FIELDS = [
    field.name for field in Movie._meta.concrete_fields if field.editable and not field.primary_key
]
TEMPLATES = settings.BASE_DIR / "catalog" / "templates" / "catalog" / "site"


def columns(statement: str) -> set[str]:
    """The columns a bulk statement names."""
    listed = re.search(r"\(([^)]*)\)", statement)
    assigned = re.findall(r"(\w+) = %s", statement)
    return set(assigned) | {
        name.strip() for name in (listed.group(1) if listed else "").split(",")
    }


def test_a_movies_own_fields_are_the_ones_this_test_expects():
    assert OWN_FIELDS == ["name", "director", "popularity", "imdb_score"]


def listed_sample() -> ListedMovie:
    return ListedMovie(**dict.fromkeys(LISTED_FIELDS), genres=[])


PLACES = {
    "models.LISTED_FIELDS": lambda: set(LISTED_FIELDS),
    "models.ListedMovie": lambda: {field.name for field in dataclasses.fields(ListedMovie)},
    "MovieSerializer (read)": lambda: (
        set(MovieSerializer.Meta.fields)
        & set(MovieSerializer().to_representation(ListedMovie(1, "n", "d", 1.0, 1.0, [])))
    ),
    "MovieWriteSerializer": lambda: set(MovieWriteSerializer.Meta.fields),
    "writes.MovieFields": lambda: {field.name for field in dataclasses.fields(writes.MovieFields)},
    "writes.create_movie": lambda: set(inspect.signature(writes.create_movie).parameters),
    "writes.update_movie": lambda: set(inspect.signature(writes.update_movie).parameters),
    "importer.MovieRecord": lambda: {
        field.name for field in dataclasses.fields(importer.MovieRecord)
    },
    "bulk: insert": lambda: columns(bulk._INSERT_MOVIES),
    "bulk: COPY": lambda: columns(bulk._COPY_MOVIES),
    "bulk: import's update (the key aside)": lambda: (
        columns(bulk.UPDATE_MOVIE) | {"name", "director"}
    ),
    "admin list": lambda: set(MovieAdmin.list_display),
    "admin form": lambda: set(MovieForm.Meta.fields),
    "the movie's page": lambda: set(
        re.findall(r"details\.movie\.(\w+)", (TEMPLATES / "movie.html").read_text())
    ),
}


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_every_place_knows_every_field(place):
    assert set(OWN_FIELDS) <= place()


@pytest.mark.django_db
def test_the_api_documents_every_field(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    assert set(OWN_FIELDS) <= set(components["Movie"]["properties"])
    assert set(OWN_FIELDS) <= set(components["MovieWriteRequest"]["properties"])
