from django.urls import path, re_path

from catalog.api.views import ID_PATTERN
from catalog.site import views

urlpatterns = [
    path("", views.search, name="site-search"),
    # A movie's page, with or without a trailing slash; named without it (links use it).
    re_path(rf"^movies/(?P<pk>{ID_PATTERN})/?$", views.movie, name="site-movie"),
]
