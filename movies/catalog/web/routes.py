"""The public reads: routes whose answer depends on their URL and the catalogue alone.

Each is declared where its route is (catalog.api.urls, catalog.site.urls), with
the query parameters its answer depends on, and whether it is a page of the
site (HTML whatever is accepted) or the API's JSON. The response cache keeps
and replays their anonymous answers (catalog.web.caching), keyed by those
parameters only, and the database router may send them to a replica.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.http import HttpResponse

# Ids are bigints; anything longer is a 404 from the URL, never a database error.
ID_PATTERN = "[0-9]{1,18}"


@dataclass(frozen=True)
class PublicRead:
    name: str
    # The query parameters the answer depends on: any other is ignored by the view.
    parameters: frozenset[str]
    page: bool
    # The answer when the database is out of reach, for routes that answer it at once.
    unavailable: Callable[[Exception], HttpResponse] | None = None


PUBLIC_READS: dict[str, PublicRead] = {}


def public_read(
    name: str,
    *,
    parameters: Iterable[str] = (),
    page: bool = False,
    unavailable: Callable[[Exception], HttpResponse] | None = None,
) -> str:
    """Declare the route ``name`` a public read; returns the name, for the URL pattern."""
    PUBLIC_READS[name] = PublicRead(name, frozenset(parameters), page, unavailable)
    return name


def page_routes() -> frozenset[str]:
    """The names of the site's pages among the public reads."""
    return frozenset(name for name, read in PUBLIC_READS.items() if read.page)
