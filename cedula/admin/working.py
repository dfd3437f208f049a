"""The console's "Consultando ahora": what the worker is doing this second (the row, its attempt, how long, the step),
what comes next in the queue, and the last lookups with the throttle wait shown apart. A page that reloads itself
every 5 s, and a panel on the dashboard."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from cedula import display, selectors


def seconds_text(seconds: float | None) -> str:
    """ "0,8 s", "12 s", "3 min 20 s": a duration with its unit, in Spanish notation."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".", ",")
    return display.duration_text(seconds)


def working_view_context(*, next_n: int = 5, recent_n: int = 10) -> dict[str, Any]:
    now = selectors.working_now(next_n=next_n, recent_n=recent_n)
    return {
        "in_flight": [
            {"row": row, "elapsed": seconds_text(row.elapsed_s), "step_for": seconds_text(row.step_s)}
            for row in now.in_flight
        ],
        "next_up": now.next_up,
        "recent": [
            {"row": row, "own": seconds_text(row.own_ms / 1000), "wait": seconds_text(row.wait_ms / 1000)}
            for row in now.recent
        ],
    }


class WorkingNowMixin:
    """For CedulaInfoAdmin: the page and its 5 s fragment, for staff who may view cedulas."""

    def working_urls(self) -> list:
        site = self.admin_site  # type: ignore[attr-defined]
        return [
            path("consultando-ahora/", site.admin_view(self.working_now_view), name="cedula_working_now"),
        ]

    def working_now_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": "Consultando ahora",
            "subtitle": None,
            **working_view_context(next_n=10, recent_n=20),
        }
        return TemplateResponse(request, "admin/cedula/working_now.html", context)
