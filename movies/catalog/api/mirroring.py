"""For clients that keep a copy of the catalogue: the changes feed and the full export.

Both are catalog.changes' entries, presented: the feed as pages of JSON, the
export streamed as NDJSON (or the importer's format) at constant memory.
Neither answer is kept by the response cache: a feed page is read once per
client, and an export is too large to keep.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from catalog import changes
from catalog.api import schema as docs
from catalog.api.query import bounded_int

SINCE, LIMIT, FORMAT = "since", "limit", "format"
LIMIT_INVALID = f"Must be an integer from 1 to {changes.MAX_LIMIT}."
EXPORT_FORMATS = {"ndjson": "application/x-ndjson", "seed": "application/json"}
FORMAT_INVALID = "Must be ndjson or seed."
EXPORT_REFUSED = "Exports are for staff accounts, or with the export token (EXPORT_TOKEN)."
TOKEN_HEADER = "Changes-Token"


class Gone(APIException):
    status_code = 410
    default_code = "gone"
    default_detail = "Gone."


ENTRIES = inline_serializer(
    "Change",
    {
        "type": serializers.ChoiceField(choices=["movie", "genre"]),
        "id": serializers.IntegerField(),
        "deleted": serializers.BooleanField(required=False, help_text="Only on tombstones."),
        "name": serializers.CharField(required=False),
        "director": serializers.CharField(required=False),
        "popularity": serializers.FloatField(required=False),
        "imdb_score": serializers.FloatField(required=False),
        "genre_ids": serializers.ListField(child=serializers.IntegerField(), required=False),
    },
    many=True,
)


class ChangesView(APIView):
    """Movies and genres written or deleted since a token, oldest first."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Changes since a token, for clients that keep a copy",
        description=(
            "Each entry is a movie or genre as it is now (movies list their genres by id), "
            "or a tombstone (`deleted: true`); applying them in order to a copy made by "
            "the export, from the export's token, gives the catalogue's rows. A genre's "
            "tombstone means it went from every movie that had it. Entries may repeat; "
            "applying one twice does no harm. Follow `next` (the same URL with the new "
            "token) while `more` is true, then poll it. Deletions are kept "
            "CHANGES_RETENTION_DAYS days (default 30); an older token is a 410."
        ),
        parameters=[
            OpenApiParameter(
                SINCE, str, description="A token from an export or a page; none: from the start."
            ),
            OpenApiParameter(
                LIMIT, int, description=f"Entries per page, 1 to {changes.MAX_LIMIT} (100)."
            ),
        ],
        responses={
            200: inline_serializer(
                "Changes",
                {
                    "results": ENTRIES,
                    "token": serializers.CharField(),
                    "more": serializers.BooleanField(),
                    "next": serializers.URLField(),
                },
            ),
            400: docs.ERROR_400,
            410: docs.ERROR_410,
        },
    )
    def get(self, request):
        limit = bounded_int(
            request.query_params,
            LIMIT,
            least=1,
            most=changes.MAX_LIMIT,
            default=changes.DEFAULT_LIMIT,
            message=LIMIT_INVALID,
        )
        try:
            page = changes.changes_since(request.query_params.get(SINCE, ""), limit=limit)
        except changes.InvalidToken as error:
            raise ValidationError({SINCE: [str(error)]}) from None
        except changes.TokenExpired as error:
            raise Gone({SINCE: [str(error)]}) from None
        url = replace_query_param(request.build_absolute_uri(), SINCE, page.token)
        return Response(
            {"results": page.entries, "token": page.token, "more": page.more, "next": url},
            headers={"Cache-Control": "no-store"},
        )


class ExportView(APIView):
    """The whole catalogue, streamed, with the token to follow the changes feed from."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Export the whole catalogue (staff, or the export token)",
        description=(
            'NDJSON: a first line `{"type": "export", "changes_token": ...}`, then '
            "every genre and every movie as the changes feed gives them. `format=seed`: "
            "the JSON that `manage.py populate_db` imports (genres without movies are "
            f"left out). The `{TOKEN_HEADER}` header carries the token in both. Send "
            "`Authorization: Token <staff token>` or `Authorization: Export <EXPORT_TOKEN>`."
        ),
        parameters=[OpenApiParameter(FORMAT, str, enum=list(EXPORT_FORMATS))],
        responses={
            (200, EXPORT_FORMATS["ndjson"]): OpenApiTypes.BINARY,
            (200, EXPORT_FORMATS["seed"]): OpenApiTypes.ANY,
            400: docs.ERROR_400,
            403: docs.ERROR_403,
        },
    )
    def get(self, request):
        if not self._allowed(request):
            raise PermissionDenied(EXPORT_REFUSED)
        chosen = request.query_params.get(FORMAT, "ndjson")
        if chosen not in EXPORT_FORMATS:
            raise ValidationError({FORMAT: [FORMAT_INVALID]})
        token, entries = changes.export_entries()
        if chosen == "seed":
            lines = changes.seed_lines(entries)
        else:
            lines = changes.ndjson_lines(token, entries)
        response = StreamingHttpResponse(
            (line.encode() for line in lines), content_type=EXPORT_FORMATS[chosen]
        )
        response[TOKEN_HEADER] = token
        response["Cache-Control"] = "no-store"
        filename = "catalogue.ndjson" if chosen == "ndjson" else "catalogue.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @staticmethod
    def _allowed(request) -> bool:
        if request.user.is_authenticated and request.user.is_staff:
            return True
        given = request.headers.get("Authorization", "")
        kind, _, secret = given.partition(" ")
        expected = settings.EXPORT_TOKEN
        return bool(expected) and kind == "Export" and hmac.compare_digest(secret, expected)

    def perform_content_negotiation(self, request, force=False):
        # ``format`` is the export's own parameter, not a renderer's: errors are JSON.
        return super().perform_content_negotiation(request, force=True)
