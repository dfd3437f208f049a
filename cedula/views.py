"""Machine endpoints of the domain app (the console itself is the admin)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from cedula import metrics as cedula_metrics
from cedula import selectors


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    health = selectors.system_health(silent_after_s=settings.WORKER_SILENT_AFTER_S)
    return JsonResponse(health.as_dict(), status=200 if health.ok else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for `Authorization: Bearer METRICS_TOKEN` only. Anything else is a 404, as if there
    were no such page: an unset token switches the endpoint off."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Http404
    return HttpResponse(cedula_metrics.render(), content_type=CONTENT_TYPE_LATEST)
