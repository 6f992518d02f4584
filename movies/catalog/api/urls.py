from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from catalog.api import schema as docs
from catalog.api.errors import api_unavailable
from catalog.api.mirroring import ChangesView, ExportView
from catalog.api.pagination import CatalogPagination, MoviePagination
from catalog.api.views import GenreViewSet, MovieViewSet, TokenView
from catalog.web.routes import public_read

router = DefaultRouter()
# The legacy paths have no trailing slash (/api/movies); the slashed form answers too.
router.trailing_slash = "/?"
router.register("movies", MovieViewSet, basename="movie")
router.register("genres", GenreViewSet, basename="genre")

# What anonymous clients read, kept by the response cache (catalog.web.routes).
for name, parameters in [
    ("movie-list", MoviePagination.query_parameters()),
    ("movie-detail", ()),
    ("movie-suggest", (parameter.name for parameter in docs.SUGGEST_PARAMETERS)),
    ("genre-list", CatalogPagination.query_parameters()),
    ("genre-detail", ()),
]:
    public_read(name, parameters=parameters, unavailable=api_unavailable)

schema = SpectacularAPIView.as_view()
swagger_ui = SpectacularSwaggerView.as_view(url_name="schema")
# drf-spectacular's page without what it loads from other hosts.
redoc = SpectacularRedocView.as_view(url_name="schema", template_name="catalog/api/redoc.html")

urlpatterns = [
    # Answered with and without the trailing slash, as every API path is, under one
    # name (the metrics' route label). Links use the slash: of two patterns of one
    # name, reverse() gives the one listed last.
    re_path(r"^schema$", schema, name="schema"),
    re_path(r"^docs$", swagger_ui, name="swagger-ui"),
    re_path(r"^redoc$", redoc, name="redoc"),
    re_path(r"^schema/$", schema, name="schema"),
    re_path(r"^docs/$", swagger_ui, name="swagger-ui"),
    re_path(r"^redoc/$", redoc, name="redoc"),
    re_path(r"^auth/token/?$", TokenView.as_view(), name="token"),
    re_path(r"^changes/?$", ChangesView.as_view(), name="changes"),
    re_path(r"^export/?$", ExportView.as_view(), name="export"),
    *router.urls,
]
