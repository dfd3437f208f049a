from django.contrib import admin
from django.urls import include, path

from cedula import views as cedula_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", cedula_views.healthz, name="healthz"),
    path("metrics", cedula_views.metrics, name="metrics"),
    path("", include("ops.accounts.urls")),
]
