"""The cedula changelist's and page's actions, built from their declarations in cedula/console_actions.py.

Each action is a few lines: the declaration says its label, confirmation, permission, service, audit code and
message; `_run_set_action` runs any set-based one on the ticked rows or on the whole filter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.decorators import action
from unfold.enums import ActionVariant

from cedula import data_subject, permissions, services
from cedula.admin.dashboard import breaker_view
from cedula.admin.dialogs import CedulaConfirmForm, ConfirmForm, PauseForm, back_url, done
from cedula.admin.filters import active_filter_chips
from cedula.admin.permissions import QueuePermissionMixin
from cedula.console_actions import (
    CEDULA_DATA_SUBJECT_EXPORT,
    CEDULA_LOOKUP_NOW,
    CEDULA_REVALIDATE,
    CEDULA_SET_ACTIONS,
    LOOKUPS_PAUSE,
    LOOKUPS_RESUME,
    ConsoleAction,
    set_action,
)
from cedula.models import CedulaInfo
from cedula.request_audit import audit_request
from cedula.services import revalidation
from cedula.services.audit import audit_selection_ids

logger = structlog.get_logger(__name__)

# Query parameters that are not filters (paging, ordering, the admin's own).
NON_FILTER_PARAMS = {"p", "o", "_changelist_filters", "_to_field", "_popup"}


def describe_filters(request: HttpRequest, model_admin: Any) -> list[dict[str, str]]:
    """Every active filter and the search, as the list's chips name them (one reading of the query string for both
    screens): the confirmation says exactly which rows it acts on, and "todas las cédulas" only when none is set."""
    return [{"label": chip["label"], "value": chip["value"]} for chip in active_filter_chips(request, model_admin)]


def _set_action(spec: ConsoleAction) -> Callable[..., None]:
    """A changelist action on the ticked rows (or Django's "select all"), as its declaration says."""

    def run(self: CedulaActionsMixin, request: HttpRequest, queryset: QuerySet) -> None:
        self._run_set_action(request, spec, queryset)

    run.__name__ = spec.name
    return action(description=spec.label, permissions=["queue"])(run)


class CedulaActionsMixin(QueuePermissionMixin):
    """For CedulaInfoAdmin (a ModelAdmin): its actions, their permissions and the filter-wide confirmation page."""

    # --- permissions: rows change only through services (actions), never through the form (ReadOnlyAdminMixin) -----

    def has_data_subject_export_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(CEDULA_DATA_SUBJECT_EXPORT.permission)

    def has_pause_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(permissions.PAUSE)

    # Only the switch that applies is offered: "Pausar" while running, "Reanudar" while paused.
    def has_pause_now_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_pause_permission(request) and not breaker_view()["paused"]

    def has_resume_now_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_pause_permission(request) and bool(breaker_view()["paused"])

    # --- bulk actions (changelist) ---------------------------------------------------------------------------------

    # Set-based: the ticked rows (or Django's "select all") go to the service as a queryset, one UPDATE each.
    queue_now = _set_action(CEDULA_SET_ACTIONS[0])
    retry_failed = _set_action(CEDULA_SET_ACTIONS[1])
    reset_pending = _set_action(CEDULA_SET_ACTIONS[2])
    cancel_pending = _set_action(CEDULA_SET_ACTIONS[3])

    def _run_set_action(self, request: HttpRequest, spec: ConsoleAction, queryset: QuerySet) -> int:
        service = getattr(services, spec.service)
        named = audit_selection_ids(queryset)  # before the action: a status filter may not match the rows after
        count: int = service(rows=queryset)
        audit_request(request, action=spec.audit_code, target=queryset, count=count,
                     filter_query=request.GET, cedula_ids=named)  # fmt: skip
        # The query string is not logged (a search may hold a full cedula); the audit record keeps the filter.
        logger.info("cedulas_action", action=spec.name, rows=count, user_id=request.user.pk)
        self.message_user(request, spec.done_message(count), messages.SUCCESS)  # type: ignore[attr-defined]
        return count

    def _audit_refused_action(self, request: HttpRequest) -> None:
        """Django drops an action the account may not run without a word (the list just shows again): the trail
        records who tried, what and on how many ticked rows."""
        name = request.POST.get("action", "") if request.method == "POST" else ""
        if name in self.actions and name not in self.get_actions(request):  # type: ignore[attr-defined]
            ticked = len(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
            audit_request(request, action="console.denied", target=f"acción {name}", outcome="denied",
                         filter_query=request.GET, count=ticked)  # fmt: skip

    @staticmethod
    def _filter_query(request: HttpRequest) -> str:
        params = request.GET.copy()
        for key in NON_FILTER_PARAMS:
            params.pop(key, None)
        return params.urlencode()

    def filter_actions(self, request: HttpRequest) -> list[dict[str, str]]:
        """The changelist's "todas las que coinciden con el filtro" links, for staff who may queue."""
        if not self.has_queue_permission(request):
            return []
        query = self._filter_query(request)
        return [
            {"name": spec.name, "label": spec.label, "url": reverse("admin:cedula_cedulainfo_filter_action",
             args=[spec.name]) + (f"?{query}" if query else "")}
            for spec in CEDULA_SET_ACTIONS
        ]  # fmt: skip

    def filter_action_view(self, request: HttpRequest, name: str) -> HttpResponse:
        """An action on every row matching the changelist's filters and search (carried in the query string).

        GET: the count and a confirmation; POST: one set-based UPDATE. The filters are the changelist's own, so
        what is counted is what the list shows."""
        spec = set_action(name)
        if spec is None:
            raise Http404
        if not self.has_queue_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        except IncorrectLookupParameters:
            # As the list itself does with a filter it cannot read: back to it, saying so.
            return HttpResponseRedirect(reverse("admin:cedula_cedulainfo_changelist") + "?e=1")
        rows = changelist.get_queryset(request)
        query = self._filter_query(request)
        back = reverse("admin:cedula_cedulainfo_changelist") + (f"?{query}" if query else "")
        if request.method == "POST":
            self._run_set_action(request, spec, rows)
            return HttpResponseRedirect(back)
        count = services.rows_touched(rows=rows, action=name).count()
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": f"{spec.label} · todas las que coinciden con el filtro",
            "subtitle": None,
            "opts": self.opts,  # type: ignore[attr-defined]
            "label": f"{spec.label}: todas las que coinciden con el filtro",
            "text": spec.confirmation,
            "filters": describe_filters(request, self),
            "count": count,
            "back_url": back,
            "action_testid": name,
        }
        return TemplateResponse(request, "admin/cedula/confirm_action.html", context)

    @action(description=CEDULA_REVALIDATE.label, permissions=["queue"])
    def revalidate(self, request: HttpRequest, queryset: QuerySet) -> None:
        named = audit_selection_ids(queryset)
        count = revalidation.cedulas_revalidate(
            ids=queryset.values_list("pk", flat=True), requested_by=request.user.get_username()
        )
        audit_request(request, action=CEDULA_REVALIDATE.audit_code, target=queryset, count=count,
                     cedula_ids=named)  # fmt: skip
        self.message_user(request, CEDULA_REVALIDATE.done_message(count), messages.SUCCESS)  # type: ignore[attr-defined]

    # --- row / detail action -----------------------------------------------------------------------------------------

    @action(
        description=CEDULA_LOOKUP_NOW.label,
        icon=CEDULA_LOOKUP_NOW.icon,
        permissions=["queue"],
        url_path="lookup-now",
        dialog={
            "title": CEDULA_LOOKUP_NOW.label,
            "description": CEDULA_LOOKUP_NOW.confirmation,
            "form_class": CedulaConfirmForm,
            "form_submit_text": CEDULA_LOOKUP_NOW.submit,
        },
    )
    def lookup_now(self, request: HttpRequest, form: ConfirmForm, object_id: str) -> HttpResponse:
        count = services.cedulas_queue_now(ids=[int(object_id)])
        target = CedulaInfo.objects.filter(pk=object_id).first()
        audit_request(request, action=CEDULA_LOOKUP_NOW.audit_code, target=target, count=count)
        self.message_user(request, CEDULA_LOOKUP_NOW.done_message(count), messages.SUCCESS)  # type: ignore[attr-defined]
        # From the list the dialog returns to the list (same filters and page); from the detail, to the detail.
        detail = reverse("admin:cedula_cedulainfo_change", args=[object_id])
        return done(request, back_url(request, default=detail))

    @action(
        description=CEDULA_DATA_SUBJECT_EXPORT.label,
        icon=CEDULA_DATA_SUBJECT_EXPORT.icon,
        permissions=["data_subject_export"],
        url_path="data-subject-export",
    )
    def data_subject_export(self, request: HttpRequest, object_id: str) -> HttpResponse:
        info = get_object_or_404(CedulaInfo, pk=object_id)
        payload = data_subject.cedula_data_subject_export(cedula=info)
        audit_request(request, action=CEDULA_DATA_SUBJECT_EXPORT.audit_code, target=info, count=1)
        response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="titular-{info.pk}.json"'
        return response

    # --- the breaker's manual switch (changelist top and dashboard) ---------------------------------------------------

    @action(
        description=LOOKUPS_PAUSE.label,
        icon=LOOKUPS_PAUSE.icon,
        permissions=["pause_now"],
        variant=ActionVariant.WARNING,
        url_path="pause",
        dialog={
            "title": "Pausar las consultas",
            "description": LOOKUPS_PAUSE.confirmation,
            "form_class": PauseForm,
            "form_submit_text": LOOKUPS_PAUSE.submit,
        },
    )
    def pause_lookups(self, request: HttpRequest, form: PauseForm) -> HttpResponse:
        services.breaker_pause(by=request.user.get_username(), reason=form.cleaned_data["reason"])
        audit_request(request, action=LOOKUPS_PAUSE.audit_code, details={"reason": form.cleaned_data["reason"]})
        self.message_user(request, LOOKUPS_PAUSE.done_message(1), messages.WARNING)  # type: ignore[attr-defined]
        return done(request, back_url(request))

    @action(
        description=LOOKUPS_RESUME.label,
        icon=LOOKUPS_RESUME.icon,
        permissions=["resume_now"],
        url_path="resume",
        dialog={
            "title": "Reanudar las consultas",
            "description": LOOKUPS_RESUME.confirmation,
            "form_class": ConfirmForm,
            "form_submit_text": LOOKUPS_RESUME.submit,
        },
    )
    def resume_lookups(self, request: HttpRequest, form: ConfirmForm) -> HttpResponse:
        services.breaker_resume(by=request.user.get_username())
        audit_request(request, action=LOOKUPS_RESUME.audit_code)
        self.message_user(request, LOOKUPS_RESUME.done_message(1), messages.SUCCESS)  # type: ignore[attr-defined]
        return done(request, back_url(request))
