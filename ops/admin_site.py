"""The console's admin site: Unfold's, with a sidebar and command search that also find cedulas.

Unfold's sidebar search ("Buscar en la consola…") matches menu entries only, and its command search would walk every
model's search results unbounded. Staff search the console for one thing above all, a cedula: a number (or its first
digits) typed there lists the matching cedulas first, read as the cedula list reads them (one index range, a handful of
rows), for an account that may see cedulas.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib import admin
from django.contrib.admin import sites
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.dataclasses import SearchResult
from unfold.sites import UnfoldAdminSite

CEDULA_RESULTS = 8


def cedula_results(request: HttpRequest, term: str, *, with_state: bool = True) -> list[SearchResult]:
    """Up to CEDULA_RESULTS cedulas the term names, for an account with view rights on cedulas; none otherwise."""
    from cedula import permissions
    from cedula.admin.cedula_search import parse_search, prefix_range
    from cedula.display import format_cedula, row_state
    from cedula.models import CedulaInfo

    if not request.user.has_perm(permissions.VIEW_CEDULAS):
        return []
    parsed = parse_search(term or "")
    if parsed is None:
        return []
    kind, digits = parsed
    rows = CedulaInfo.objects.only("pk", "cedula", "status", "next_attempt_at", "claimed_at", "attempts")
    if kind == "prefix":
        low, high = prefix_range(digits)
        rows = rows.filter(cedula__gte=low, cedula__lt=high).order_by("cedula")
    else:
        rows = rows.filter(cedula=digits)
    return [
        SearchResult(
            title=f"Cédula {format_cedula(row.cedula)}",
            description=row_state(row).label if with_state else "Abrir la ficha",
            link=reverse("admin:cedula_cedulainfo_change", args=[row.pk]),
            icon="badge",
        )
        for row in rows[:CEDULA_RESULTS]
    ]


class ConsoleAdminSite(UnfoldAdminSite):
    def search(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        term = (request.GET.get("s") or "").strip()
        found = cedula_results(request, term) if term else []
        if not found or "extended" in request.GET:
            # The command palette asks through search_callback (ops/unfold.py): it reads the same results.
            return super().search(request, extra_context)
        # The sidebar: the cedulas, then Unfold's own menu matches (uncached here: one index range is cheap).
        menu = self._search_apps(sites.AdminSite.get_app_list(self, request), term.lower())
        context = {"results": [*found, *menu]}
        template = "unfold/helpers/search_results.html"
        return TemplateResponse(request, template, context, headers={"HX-Trigger": "search"})


def command_search(request: HttpRequest, term: str) -> list[SearchResult]:
    # Unfold keeps the palette's results for 5 minutes: no state in them, which could be stale by then.
    return cedula_results(request, term, with_state=False)


class ConsoleAdminConfig(AppConfig):
    """Unfold's app (templates, static, template tags) with the console's site in place of Unfold's default one."""

    name = "unfold"
    label = "unfold"

    def ready(self) -> None:
        site = ConsoleAdminSite()
        admin.site = site
        sites.site = site
