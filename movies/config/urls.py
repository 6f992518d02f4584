from django.contrib import admin
from django.urls import include, path, re_path

from operations.error_pages import api_page_not_found
from operations.health import healthz, livez
from operations.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("catalog.api.urls")),
    # Unknown API URLs answer in the API's JSON error shape, DEBUG or not.
    re_path(r"^api/", api_page_not_found, name="api-not-found"),
    path("livez", livez, name="livez"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("catalog.site.urls")),
]

handler400 = "operations.error_pages.bad_request"
handler404 = "operations.error_pages.page_not_found"
handler500 = "operations.error_pages.server_error"
