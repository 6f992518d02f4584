"""The site's pages: parameters in, what catalog.site.pages reads, rendered.

Every page is a public read: throttled as the API is, with the API's ETag,
304 and Cache-Control (catalog.web.caching.conditional_page), kept and
replayed for anonymous readers by CachedResponseMiddleware. A parameter that
is refused is a 400 page naming it, a genre the catalogue lacks a 400 page
saying so, a page past the last one or an unknown movie a 404 page, the
database out of reach a 503 page; never a traceback.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from catalog.reads import InvalidQuery
from catalog.site.pages import Link, NoSuchGenre, movie_details, search_results
from catalog.site.params import SearchParams
from catalog.web.caching import conditional_page, throttle_wait
from catalog.web.errors import RETRY_AFTER_SECONDS, DatabaseUnavailable

ERROR_TEMPLATE = "catalog/site/error.html"
BAD_REQUEST = "That search cannot be run"
NOT_FOUND = "Page not found"
NOT_FOUND_MESSAGE = "There is no page at this address."
MOVIE_NOT_FOUND = "Movie not found"
MOVIE_NOT_FOUND_MESSAGE = "There is no movie with this id in the catalogue."
PAST_THE_END = "No such page of results"
PAST_THE_END_MESSAGE = "Page {page} is past the last page of these results."
NO_SUCH_GENRE = "No such genre"
NO_SUCH_GENRE_MESSAGE = "The catalogue has no genre named {names}."
WITHOUT_THE_GENRE = "Search without it"
THROTTLED = "Too many requests"
THROTTLED_MESSAGE = "You have made a lot of requests in a short time; try again in {seconds} s."
UNAVAILABLE = "The catalogue is unavailable"
UNAVAILABLE_MESSAGE = "The catalogue cannot be read right now; try again shortly."
SERVER_ERROR = "Something went wrong"
SERVER_ERROR_MESSAGE = "The page could not be shown. Please try again later."
# The pages load their own stylesheet, script and icon and nothing else, and run
# no inline code: a script or style injected into one would not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

logger = logging.getLogger(__name__)


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A public read: GET or HEAD, throttled as the API, its failures as the site's pages."""

    @require_safe
    @wraps(view)
    def page(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        wait = throttle_wait(request)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            response = error_page(
                request, 429, THROTTLED, THROTTLED_MESSAGE.format(seconds=seconds)
            )
            response["Retry-After"] = str(seconds)
            return response
        try:
            return with_policy(view(request, *args, **kwargs))
        except InvalidQuery as error:
            return error_page(request, 400, BAD_REQUEST, error.message, parameter=error.parameter)
        except DatabaseUnavailable as error:
            logger.warning("Database unavailable: %s", error)
            response = error_page(request, 503, UNAVAILABLE, UNAVAILABLE_MESSAGE)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response

    return page


@public_page
def search(request: HttpRequest) -> HttpResponse:
    """``/``: the search box; with a search or a genre, a page of results."""
    params = SearchParams.parse(request.GET)
    if not params.active:
        return conditional_page(request, lambda: render(request, "catalog/site/home.html"))

    def produce() -> HttpResponse:
        try:
            results = search_results(params)
        except NoSuchGenre as error:
            names = ", ".join(f"“{name}”" for name in error.names)
            message = NO_SUCH_GENRE_MESSAGE.format(names=names)
            link = Link(WITHOUT_THE_GENRE, error.without.url()) if error.without.active else None
            return error_page(request, 400, NO_SUCH_GENRE, message, link=link)
        if results.past_the_end:
            message = PAST_THE_END_MESSAGE.format(page=results.params.page)
            return error_page(request, 404, PAST_THE_END, message, link=results.last_page_link)
        return render(request, "catalog/site/results.html", {"results": results})

    return conditional_page(request, produce)


@public_page
def movie(request: HttpRequest, pk: str) -> HttpResponse:
    """``/movies/<id>``: a movie, more by its director and movies like it."""

    def produce() -> HttpResponse:
        details = movie_details(int(pk))
        if details is None:
            return error_page(request, 404, MOVIE_NOT_FOUND, MOVIE_NOT_FOUND_MESSAGE)
        return render(request, "catalog/site/movie.html", {"details": details})

    return conditional_page(request, produce)


def error_page(
    request: HttpRequest | None,
    status: int,
    title: str,
    message: str,
    *,
    parameter: str | None = None,
    link: Link | None = None,
) -> HttpResponse:
    """An error as a page of the site, with a ``link`` onwards besides the search page.
    Without a request (a server error) no context processor runs, so that rendering it
    asks nothing more of what may have failed."""
    context = {
        "status": status,
        "title": title,
        "message": message,
        "parameter": parameter,
        "link": link,
    }
    body = render_to_string(ERROR_TEMPLATE, context, request=request)
    return with_policy(HttpResponse(body, status=status))


def with_policy(response: HttpResponse) -> HttpResponse:
    """``response`` with the site's Content-Security-Policy (a 304 has no body to protect)."""
    if response.status_code != 304:
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def not_found(request: HttpRequest) -> HttpResponse:
    return error_page(request, 404, NOT_FOUND, NOT_FOUND_MESSAGE)


def bad_request(request: HttpRequest) -> HttpResponse:
    return error_page(request, 400, "Bad request", "The request could not be understood.")


def server_error() -> HttpResponse:
    return error_page(None, 500, SERVER_ERROR, SERVER_ERROR_MESSAGE)
