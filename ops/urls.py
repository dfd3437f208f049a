from django.contrib import admin
from django.urls import include, path

from cedula import views as cedula_views
from ops.accounts import two_factor

urlpatterns = [
    # Before the admin: the second-factor pages sit under /admin/ but are not admin views (no verified session yet).
    path("admin/2fa/", two_factor.verify_view, name="two_factor_verify"),
    path("admin/2fa/alta/", two_factor.enrol_view, name="two_factor_enrol"),
    path("admin/2fa/recuperacion/", two_factor.recovery_view, name="two_factor_recovery"),
    path("admin/", admin.site.urls),
    path("healthz", cedula_views.healthz, name="healthz"),
    path("metrics", cedula_views.metrics, name="metrics"),
    path("", include("ops.accounts.urls")),
]
