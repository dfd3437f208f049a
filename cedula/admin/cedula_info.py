"""The cedula changelist and detail page: where staff find a row and act on it.

Its parts live by concern: the search (cedula_search.py), the detail's inlines and snapshot (cedula_detail.py), the
actions (cedula_actions.py, from their declarations in cedula/console_actions.py), the dialogs (dialogs.py).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RelatedDropdownFilter
from unfold.decorators import display

from cedula import display as screen
from cedula import permissions
from cedula.admin.cedula_actions import CedulaActionsMixin
from cedula.admin.cedula_detail import CedulaChangeInline, LookupAttemptInline, snapshot_html, state_label
from cedula.admin.cedula_search import SEARCH_HELP, parse_search, prefix_range
from cedula.admin.dashboard import breaker_view, dashboard_context
from cedula.admin.filters import (
    ChangedAtLastCheckFilter,
    DepartamentoFilter,
    LocalRangeDateTimeFilter,
    QueueFilter,
    active_filter_chips,
)
from cedula.admin.gate import GateProbeMixin
from cedula.admin.import_export import CedulaImportExportMixin
from cedula.admin.pagination import CappedCountPaginator
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.admin.working import WorkingNowMixin
from cedula.console_actions import CEDULA_SET_ACTIONS
from cedula.models import CedulaInfo
from cedula.registry.parser import RESULT_FIELDS

STATE_COLORS = {state.key: state.color for state in screen.STATES.values()}


@admin.register(CedulaInfo)
class CedulaInfoAdmin(
    WorkingNowMixin, ReadOnlyAdminMixin, CedulaImportExportMixin, GateProbeMixin, CedulaActionsMixin, ModelAdmin
):
    list_display = [
        "cedula_grouped",
        "status_badge",
        "departamento",
        "municipio",
        "last_checked",
        "check_count",
        "error_kind_badge",
    ]
    list_filter = [
        QueueFilter,
        ("status", ChoicesDropdownFilter),
        ("error_kind", ChoicesDropdownFilter),
        ("source", ChoicesDropdownFilter),
        ("import_batch", RelatedDropdownFilter),
        DepartamentoFilter,
        ("last_checked", LocalRangeDateTimeFilter),
        ChangedAtLastCheckFilter,
    ]
    list_filter_submit = True
    list_display_links = ["cedula_grouped"]
    search_fields = ["cedula"]
    search_help_text = SEARCH_HELP
    # Newest first by primary key: every single-column index ends in the rowid, so any one filter reads its first
    # page straight off the index. Sorting is offered only on indexed columns.
    ordering = ["-id"]
    sortable_by = ["cedula", "last_checked"]
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_before_template = "admin/cedula/cedulainfo/changelist_before.html"
    actions = [*(spec.name for spec in CEDULA_SET_ACTIONS), "revalidate"]
    actions_row = ["lookup_now"]
    actions_detail = ["lookup_now", "data_subject_export"]
    actions_list = ["pause_lookups", "resume_lookups", "probe_gate"]
    inlines = [CedulaChangeInline, LookupAttemptInline]
    fieldsets = [
        (None, {"fields": ["cedula_grouped", "state", "last_answer", "source", "priority", "import_batch", "user"]}),
        ("Lugar de votación / novedad", {"fields": list(RESULT_FIELDS)}),
        (
            "Consultas",
            {
                "fields": [
                    "last_checked",
                    "check_count",
                    "attempts",
                    "next_attempt_at",
                    "claimed_at",
                    "claimed_by",
                    "error_kind",
                    "last_error",
                ]
            },
        ),
        ("Captura de la última falla (redactada)", {"fields": ["last_failure_snapshot"]}),
    ]
    readonly_fields = [f.name for f in CedulaInfo._meta.fields] + [
        "cedula_grouped",
        "state",
        "last_answer",
        "last_failure_snapshot",
    ]

    # --- list -------------------------------------------------------------------------------------------------------

    @display(description="cédula", ordering="cedula")
    def cedula_grouped(self, obj: CedulaInfo) -> str:
        # A row still queued or in a lookup refreshes its cells by itself (cedula/static/cedula/live_rows.js).
        if screen.row_state(obj).key in screen.QUEUED_STATES:
            return format_html('<span data-live="1">{}</span>', screen.format_cedula(obj.cedula))
        return screen.format_cedula(obj.cedula)

    @display(description="estado", ordering="status", label=STATE_COLORS)
    def status_badge(self, obj: CedulaInfo) -> tuple[str, str]:
        state = screen.row_state(obj)
        return state.key, state.label

    @display(description="estado")
    def state(self, obj: CedulaInfo) -> SafeString:
        # The page of a row still queued or in a lookup reloads itself once its state changes (live_rows.js).
        state = screen.row_state(obj)
        if state.key in screen.QUEUED_STATES:
            return format_html('<span data-live-state="{}">{}</span>', state.key, state_label(state))
        return format_html('<span data-row-state="{}">{}</span>', state.key, state_label(state))

    @display(description="último resultado")
    def last_answer(self, obj: CedulaInfo) -> str:
        # The state may read "En cola"; what the registry last said (or how the last attempt failed) stays visible
        # here, read from the last attempt: a row whose retries keep failing is still "pending" in its status column.
        attempt = obj.lookup_attempts.order_by("-started_at").only("outcome", "error_kind", "started_at").first()
        if attempt is None:
            return "Sin consultar todavía"
        said = attempt.get_outcome_display()
        if attempt.error_kind:
            said += f" · {attempt.get_error_kind_display()}"
        return f"{said} ({screen.format_staff_time(attempt.started_at)})"

    @display(description="tipo de error", label="danger")
    def error_kind_badge(self, obj: CedulaInfo) -> str:
        # The last failure's kind matters while the row is in error or waits for its retry; once queued afresh,
        # an old kind beside "En cola" would read as a current error.
        if not obj.error_kind or screen.row_state(obj).key not in ("error", "retry"):
            return ""
        return obj.get_error_kind_display()

    @display(description="captura")
    def last_failure_snapshot(self, obj: CedulaInfo) -> str:
        attempt = (
            obj.lookup_attempts.exclude(snapshot="").order_by("-started_at").only("started_at", "snapshot").first()
        )
        if attempt is None:
            return "—"
        # Shown as text, never rendered: it is a copy of a foreign page (digits already masked when stored).
        return snapshot_html(attempt.snapshot, taken_at=attempt.started_at)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # One exact match, or one index range for a prefix, on the unique column: never a LIKE scan.
        if not search_term.strip():
            return queryset, False
        parsed = parse_search(search_term)
        if parsed is None:
            return queryset.none(), False
        kind, digits = parsed
        if kind == "prefix":
            low, high = prefix_range(digits)
            return queryset.filter(cedula__gte=low, cedula__lt=high), False
        return queryset.filter(cedula=digits), False

    def get_ordering(self, request: HttpRequest) -> list[str]:
        # A prefix search reads its range off the cedula index in order: sorting it by id would read it all first.
        parsed = parse_search(request.GET.get("q", "")) if request.GET.get("q") else None
        if parsed and parsed[0] == "prefix":
            return ["cedula"]
        # cedula_status_idx is (status, -updated_at): under a status filter that order comes straight off the index,
        # while "-id" would sort every row of the status. The other filters' indexes end in the rowid: "-id" is free.
        if request.GET.get("status__exact"):
            return ["-updated_at", "-id"]
        return ["-id"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        self._audit_refused_action(request)
        batch_id = request.GET.get("import_batch__id__exact", "")
        batch_url = reverse("admin:cedula_importbatch_change", args=[batch_id]) if batch_id.isdigit() else ""
        extra_context = {
            **(extra_context or {}),
            "breaker": breaker_view(),
            "can_probe": request.user.has_perm(permissions.PROBE),
            "filter_actions": self.filter_actions(request),
            "batch_page_url": batch_url,
            "filter_chips": active_filter_chips(request, self),
        }
        return super().changelist_view(request, extra_context)

    # --- the dashboard's refresh fragment ----------------------------------------------------------------------------

    def get_urls(self) -> list:
        fragment = path(
            "dashboard/",
            self.admin_site.admin_view(self.dashboard_fragment_view),
            name="cedula_cedulainfo_dashboard",
        )
        filter_action = path(
            "filtro/<slug:name>/",
            self.admin_site.admin_view(self.filter_action_view),
            name="cedula_cedulainfo_filter_action",
        )
        return [fragment, filter_action, *self.working_urls(), *super().get_urls()]

    def dashboard_fragment_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return render(request, "admin/cedula/dashboard_panel.html", dashboard_context(request))
