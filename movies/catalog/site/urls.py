from django.urls import path, re_path

from catalog.site import views
from catalog.site.params import SEARCH_PAGE_PARAMETERS
from catalog.web.routes import ID_PATTERN, public_read

urlpatterns = [
    path(
        "",
        views.search,
        name=public_read("site-search", parameters=SEARCH_PAGE_PARAMETERS, page=True),
    ),
    # A movie's page, with or without a trailing slash; named without it (links use it).
    re_path(
        rf"^movies/(?P<pk>{ID_PATTERN})/?$", views.movie, name=public_read("site-movie", page=True)
    ),
]
