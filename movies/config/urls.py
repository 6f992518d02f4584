from django.contrib import admin
from django.urls import include, path, re_path

from catalog.health import healthz
from catalog.metrics import metrics_view
from config.views import api_page_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("catalog.urls")),
    # Unknown API URLs answer in the API's JSON error shape, DEBUG or not.
    re_path(r"^api/", api_page_not_found),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
