from rest_framework.routers import DefaultRouter

from catalog.views import GenreViewSet, MovieViewSet

router = DefaultRouter()
# The legacy paths have no trailing slash (/api/movies); the slashed form answers too.
router.trailing_slash = "/?"
router.register("movies", MovieViewSet, basename="movie")
router.register("genres", GenreViewSet, basename="genre")

urlpatterns = router.urls
