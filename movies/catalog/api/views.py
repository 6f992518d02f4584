"""The catalogue's API endpoints: declarative viewsets, no business logic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import writes
from catalog.api import schema as docs
from catalog.api.caching import CachedReadMixin
from catalog.api.pagination import MoviePagination
from catalog.api.parsers import JSONParser
from catalog.api.query import LIST_PARAMETERS, bounded_int, highlighting, movie_query
from catalog.api.serializers import (
    GenreWithCountSerializer,
    MovieResultSerializer,
    MovieSerializer,
    MovieWriteSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from catalog.highlighting import patterns_for
from catalog.models import Genre, ListedMovie, Movie
from catalog.reads import list_movies
from catalog.scopes import (
    ALL,
    WIDE,
    correction_scopes,
    least_raised,
    movie_scope,
    search_scopes,
    suggestion_scopes,
)
from catalog.search import Search
from catalog.suggestions import InvalidSuggestion, suggest, typed_words
from catalog.versions import lock_catalogue
from catalog.web.caching import CatalogueRead
from catalog.web.routes import ID_PATTERN

INVALID_CREDENTIALS = "Unable to log in with the given username and password."
NOT_STAFF = "Only staff accounts get API tokens."

SUGGESTION_LIMITS = (1, 20, 8)  # least, most, default
SUGGESTION_LIMIT_INVALID = "Must be an integer from 1 to 20."


if TYPE_CHECKING:
    _ViewSet = viewsets.ModelViewSet
else:
    _ViewSet = object


def suggestion_limit(params) -> int:
    """``?limit=`` of the suggestions: 1 to 20, 8 when absent; a 400 naming it otherwise."""
    least, most, default = SUGGESTION_LIMITS
    return bounded_int(
        params, "limit", least=least, most=most, default=default, message=SUGGESTION_LIMIT_INVALID
    )


class SerialWritesMixin(_ViewSet):
    """Each write request in one transaction that first takes the catalogue lock.

    The write itself is catalog.writes', which takes the same lock (every
    writer does, the importer and the admin too); taken before the request
    reads anything, it makes API writes queue behind other writers in one
    order and validate against what they committed: a PATCH racing a DELETE
    of the same movie sees it gone (404), two renames that would together
    make a movie too long cannot both pass.
    """

    def create(self, request, *args, **kwargs):
        with transaction.atomic():
            lock_catalogue()
            return super().create(request, *args, **kwargs)

    def update(self, request, *args, **kwargs):
        with transaction.atomic():
            lock_catalogue()
            return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            lock_catalogue()
            return super().destroy(request, *args, **kwargs)


@extend_schema_view(
    list=extend_schema(
        summary="List and search movies",
        parameters=LIST_PARAMETERS,
        responses={200: MovieResultSerializer(many=True), 400: docs.ERROR_400},
        examples=[docs.MOVIE_LIST_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="One movie", responses={200: MovieSerializer, 404: docs.ERROR_404}
    ),
    create=extend_schema(
        summary="Add a movie (staff)",
        request=MovieWriteSerializer,
        responses={201: MovieSerializer, **docs.WRITE_ERRORS},
        examples=[docs.MOVIE_WRITE_EXAMPLE],
    ),
    update=extend_schema(
        summary="Replace a movie (staff)",
        request=MovieWriteSerializer,
        responses=docs.change_responses(MovieSerializer),
        examples=[docs.MOVIE_WRITE_EXAMPLE],
    ),
    partial_update=extend_schema(
        summary="Change some fields of a movie (staff)",
        request=MovieWriteSerializer,
        responses=docs.change_responses(MovieSerializer),
    ),
    destroy=extend_schema(
        summary="Remove a movie (staff)",
        responses=docs.DELETE_RESPONSES,
    ),
)
class MovieViewSet(CachedReadMixin, SerialWritesMixin, viewsets.ModelViewSet):
    """Movies, searchable, filterable and sortable; staff may write."""

    pagination_class = MoviePagination
    lookup_value_regex = ID_PATTERN

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return MovieWriteSerializer
        return MovieSerializer

    def perform_create(self, serializer) -> None:
        serializer.instance = writes.create_movie(
            **serializer.movie_fields(), may_create_genres=self._may_create_genres()
        )

    def perform_update(self, serializer) -> None:
        serializer.instance = writes.update_movie(
            serializer.instance.pk,
            **serializer.movie_fields(),
            may_create_genres=self._may_create_genres(),
        )

    def perform_destroy(self, instance) -> None:
        writes.delete_movie(instance.pk)

    def _may_create_genres(self) -> bool:
        return self.request.user.has_perm("catalog.add_genre")

    def list(self, request, *args, **kwargs):
        return self._conditional(request, self._list, args, kwargs, cache_data=True)

    def _list(self, request, *args, **kwargs):
        """A page of catalog.reads' movie list, for the request's MovieQuery."""
        query = self._query(request)
        highlight = highlighting(request)
        page = self._page = list_movies(query)
        self._movie_pagination().present_movies(request, query, page)
        context = {}
        if highlight:
            context["highlight"] = patterns_for(query.search or Search())
        results = MovieResultSerializer(page.rows, many=True, context=context).data
        return self.get_paginated_response(results)

    def _movie_pagination(self) -> MoviePagination:
        paginator = self.paginator
        assert isinstance(paginator, MoviePagination)
        return paginator

    def _query(self, request):
        return movie_query(request, count_limit=self._movie_pagination().count_limit)

    def answer_scopes(self, request) -> Sequence[str]:
        """A search's results depend on its text's part of the catalogue, suggestions on
        their words', a movie on itself (catalog.scopes); what else a list shows, on the
        whole catalogue."""
        if self.action == "retrieve":
            return [WIDE, movie_scope(self.kwargs[self.lookup_field])]
        if self.action == "list":
            scopes = search_scopes(self._query(request).search)
            return [ALL, WIDE, *scopes] if scopes else [ALL]
        if self.action == "suggest":
            return [ALL, *self._suggestion_scopes(request)]
        return [ALL]

    def answer_depends_on(self, request, response) -> Sequence[str]:
        if self.action == "retrieve":
            return [WIDE, movie_scope(self.kwargs[self.lookup_field])]
        if self.action == "suggest":
            return self._suggestion_scopes(request)
        search = self._query(request).search if self.action == "list" else None
        if search and self._page.count > 0:
            buckets = search_scopes(search)
            if buckets:
                # Any one would do: the one least likely to be raised next (read before the data).
                return [WIDE, least_raised(buckets, CatalogueRead.of(request).versions)]
        elif search:
            scopes = correction_scopes(search, self._page.corrections_tried)
            if scopes:
                return [WIDE, *sorted(scopes)]
        return [ALL]

    def _suggestion_scopes(self, request) -> Sequence[str]:
        try:
            typed = typed_words(request.query_params.get("q", ""))
        except InvalidSuggestion:
            return [ALL]  # refused: never kept
        return [WIDE, *sorted(suggestion_scopes(typed))]

    def get_queryset(self):
        return Movie.objects.only(
            "id", "name", "director", "popularity", "imdb_score"
        ).prefetch_related(Prefetch("genres", queryset=Genre.objects.only("id", "name")))

    def get_object(self):
        movie = super().get_object()
        return ListedMovie.of(movie) if self.action == "retrieve" else movie

    @extend_schema(
        summary="Suggest movies as someone types",
        parameters=docs.SUGGEST_PARAMETERS,
        responses={200: docs.SUGGESTIONS, 400: docs.ERROR_400},
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def suggest(self, request):
        """Movies whose name or director has the words typed (catalog.suggestions)."""
        return self._conditional(request, self._suggestions, (), {}, cache_data=True)

    def _suggestions(self, request):
        query = request.query_params.get("q", "")
        limit = suggestion_limit(request.query_params)
        try:
            keys = suggest(Movie.objects.all(), query, limit)
        except InvalidSuggestion as error:
            raise ValidationError({"q": [str(error)]}) from None
        movies = Movie.objects.listed(keys)
        return Response({"query": query, "results": MovieSerializer(movies, many=True).data})


@extend_schema_view(
    list=extend_schema(
        summary="List genres with their movie counts",
        responses={200: GenreWithCountSerializer(many=True), 400: docs.ERROR_400},
    ),
    retrieve=extend_schema(
        summary="One genre", responses={200: GenreWithCountSerializer, 404: docs.ERROR_404}
    ),
    create=extend_schema(
        summary="Add a genre (staff)",
        responses={201: GenreWithCountSerializer, **docs.WRITE_ERRORS},
        examples=[OpenApiExample("genre", value={"name": "Film-Noir"}, request_only=True)],
    ),
    update=extend_schema(
        summary="Rename a genre (staff)",
        responses=docs.change_responses(GenreWithCountSerializer),
    ),
    partial_update=extend_schema(
        summary="Rename a genre (staff)", responses=docs.change_responses(GenreWithCountSerializer)
    ),
    destroy=extend_schema(
        summary="Remove a genre from the catalogue and from its movies (staff)",
        responses=docs.DELETE_RESPONSES,
    ),
)
class GenreViewSet(CachedReadMixin, SerialWritesMixin, viewsets.ModelViewSet):
    """Genres by name, each with the number of movies that have it."""

    serializer_class = GenreWithCountSerializer
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return Genre.objects.order_by("name", "id")

    def perform_create(self, serializer) -> None:
        serializer.instance = writes.create_genre(name=serializer.validated_data["name"])

    def perform_update(self, serializer) -> None:
        if "name" in serializer.validated_data:
            name = serializer.validated_data["name"]
            serializer.instance = writes.rename_genre(serializer.instance.pk, name=name)

    def perform_destroy(self, instance) -> None:
        writes.delete_genre(instance.pk)


@extend_schema(
    summary="Get the API token of a staff account",
    request=TokenRequestSerializer,
    responses={
        200: TokenSerializer,
        400: docs.ERROR_400,
        403: docs.ERROR_403,
        429: docs.ERROR_429,
    },
    auth=[],
)
class TokenView(APIView):
    """A staff account's token for its username and password, created on first use.

    Throttled per client address, and an address with too many failed logins is
    locked out of this endpoint and the admin login alike.
    """

    # The credentials are in the body: no session, so no CSRF token to check.
    authentication_classes = []
    permission_classes = [AllowAny]
    # The "token" rate, per client address (the default throttles' scoped one).
    throttle_scope = "token"
    # JSON only. Any web page can make its visitors' browsers post a form here
    # (forms need no CORS preflight), and each wrong password would count
    # against their own address until it is locked out of both logins; a
    # page of another origin cannot send JSON without a preflight, which CORS
    # refuses. Anything else is a 415 before any login is attempted.
    parser_classes = [JSONParser]

    def post(self, request):
        credentials = TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        # Django's own request, where the lockout check records the attempt.
        user = authenticate(request._request, **credentials.validated_data)
        if user is None:
            raise ValidationError({"non_field_errors": [INVALID_CREDENTIALS]})
        if not user.is_staff:
            raise PermissionDenied(NOT_STAFF)
        # A login like the admin's: it ends the address's run of failures.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response(TokenSerializer({"token": token.key}).data)
