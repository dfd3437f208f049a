"""Machine endpoints of the domain app (the console itself is the admin)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cedula import selectors


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    health = selectors.system_health(silent_after_s=settings.WORKER_SILENT_AFTER_S)
    return JsonResponse(health.as_dict(), status=200 if health.ok else 503)
