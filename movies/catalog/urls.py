from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from catalog.views import GenreViewSet, MovieViewSet, TokenView

router = DefaultRouter()
# The legacy paths have no trailing slash (/api/movies); the slashed form answers too.
router.trailing_slash = "/?"
router.register("movies", MovieViewSet, basename="movie")
router.register("genres", GenreViewSet, basename="genre")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^auth/token/?$", TokenView.as_view(), name="token"),
    *router.urls,
]
