"""LookupAttempt: the structured failure log (one row per request to the registry)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from import_export import fields, resources
from import_export.admin import ExportMixin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import display

from cedula import display as screen
from cedula.admin.cedula_detail import snapshot_html
from cedula.admin.cedula_search import parse_search, prefix_range
from cedula.admin.dashboard import message_html
from cedula.admin.exports import ExportFormatsMixin, SpanishExportMixin
from cedula.admin.filters import LocalRangeDateTimeFilter, active_filter_chips
from cedula.admin.pagination import CappedCountPaginator
from cedula.admin.permissions import ExportPermissionMixin
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.admin.spend import spend_line
from cedula.admin.working import seconds_text
from cedula.captcha_spend import attempt_spend
from cedula.models import CedulaInfo, LookupAttempt
from cedula.request_audit import audit_request


class LookupAttemptResource(SpanishExportMixin, resources.ModelResource):
    cedula = fields.Field(attribute="cedula__cedula", column_name="cedula")

    class Meta:
        model = LookupAttempt
        fields = ["id", "started_at", "cedula", "outcome", "error_kind", "message", "attempt", "duration_ms",
                  "wait_ms", "source", "worker_pid", "task_id"]  # fmt: skip
        export_order = fields

    def get_queryset(self):  # noqa: D102
        return super().get_queryset().select_related("cedula")

    def dehydrate_outcome(self, obj: LookupAttempt) -> str:
        return obj.get_outcome_display()

    def dehydrate_error_kind(self, obj: LookupAttempt) -> str:
        return obj.get_error_kind_display() if obj.error_kind else ""


@admin.register(LookupAttempt)
# Written by the worker only: read-only here.
class LookupAttemptAdmin(ReadOnlyAdminMixin, ExportPermissionMixin, ExportFormatsMixin, ExportMixin, ModelAdmin):
    list_display = [
        "started_at",
        "cedula_link",
        "outcome_badge",
        "error_kind",
        "short_message",
        "duration",
        "attempt",
        "source",
    ]
    list_filter = [
        ("outcome", ChoicesDropdownFilter),
        ("error_kind", ChoicesDropdownFilter),
        ("source", ChoicesDropdownFilter),
        ("started_at", LocalRangeDateTimeFilter),
    ]
    list_filter_submit = True
    list_select_related = ["cedula"]
    list_before_template = "admin/cedula/_filter_chips.html"
    search_fields = ["cedula__cedula"]
    search_help_text = "Cédula exacta, en cualquier formato (1.234.567)"
    # Each filter has an index ending in started_at (and the rowid): the newest page is read straight off it.
    ordering = ["-started_at"]
    sortable_by = ["started_at"]
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    fields = ["cedula_link", "started_at", "duration", "outcome", "error_kind", "message", "selector_fallbacks",
              "captcha_spend", "attempt", "source", "worker_pid", "task_id", "snapshot_text"]  # fmt: skip
    readonly_fields = fields
    resource_classes = [LookupAttemptResource]
    export_form_class = ExportForm

    def get_data_for_export(self, request: HttpRequest, queryset: Any, **kwargs: Any) -> Any:
        data = super().get_data_for_export(request, queryset, **kwargs)
        audit_request(request, action="attempts.export", target=queryset, count=len(data),
                     filter_query=request.GET, cedula_ids=())  # fmt: skip
        return data

    @display(description="resultado", ordering="outcome", label=screen.OUTCOME_COLORS)
    def outcome_badge(self, obj: LookupAttempt) -> tuple[str, str]:
        return obj.outcome, obj.get_outcome_display()

    @display(description="cédula", ordering="cedula__cedula")
    def cedula_link(self, obj: LookupAttempt) -> str:
        url = reverse("admin:cedula_cedulainfo_change", args=[obj.cedula_id])
        return format_html(
            '<a class="text-primary-600 underline" href="{}">{}</a>', url, screen.format_cedula(obj.cedula.cedula)
        )

    @display(description="duración")
    def duration(self, obj: LookupAttempt) -> str:
        # With its unit, the lookup's own time apart from its wait for the throttle's turn (the politeness gap).
        own = seconds_text(max(0, obj.duration_ms - obj.wait_ms) / 1000)
        return f"{own} (más {seconds_text(obj.wait_ms / 1000)} de espera de turno)" if obj.wait_ms else own

    @display(description="captchas")
    def captcha_spend(self, obj: LookupAttempt) -> str:  # i24b
        return spend_line(attempt_spend(obj))

    @display(description="mensaje")
    def short_message(self, obj: LookupAttempt) -> str:
        return message_html(obj.message)

    @display(description="captura (redactada)")
    def snapshot_text(self, obj: LookupAttempt) -> str:
        if not obj.snapshot:
            return "—"
        # Text, never rendered: a copy of a foreign page with its digits masked.
        return snapshot_html(obj.snapshot, taken_at=obj.started_at)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # The cedula's unique index finds its row; attempt_cedula_idx then lists its attempts. Never a LIKE scan.
        if not search_term.strip():
            return queryset, False
        parsed = parse_search(search_term)
        if parsed is None:
            return queryset.none(), False
        kind, digits = parsed
        if kind == "prefix":
            low, high = prefix_range(digits)
            ids = CedulaInfo.objects.filter(cedula__gte=low, cedula__lt=high).values_list("pk", flat=True)[:1000]
            return queryset.filter(cedula_id__in=list(ids)), False
        return queryset.filter(cedula__cedula=digits), False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "filter_chips": active_filter_chips(request, self)}
        return super().changelist_view(request, extra_context)
