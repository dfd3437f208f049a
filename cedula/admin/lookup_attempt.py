"""LookupAttempt: the structured failure log (one row per request to the registry)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.http import HttpRequest
from django.utils.html import format_html
from import_export import fields, resources
from import_export.admin import ExportMixin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import display

from cedula.admin.filters import LocalRangeDateTimeFilter
from cedula.admin.pagination import CappedCountPaginator
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.models import LookupAttempt

OUTCOME_COLORS = {"active": "success", "cancelled": "warning", "not_found": "default", "error": "danger"}


class LookupAttemptResource(resources.ModelResource):
    cedula = fields.Field(attribute="cedula__cedula", column_name="cedula")

    class Meta:
        model = LookupAttempt
        fields = ["id", "started_at", "cedula", "outcome", "error_kind", "message", "attempt", "duration_ms",
                  "worker_pid", "task_id"]  # fmt: skip
        export_order = fields

    def get_queryset(self):  # noqa: D102
        return super().get_queryset().select_related("cedula")


@admin.register(LookupAttempt)
class LookupAttemptAdmin(ReadOnlyAdminMixin, ExportMixin, ModelAdmin):  # written by the worker only
    list_display = ["started_at", "cedula", "outcome_badge", "error_kind", "short_message", "duration_ms", "attempt"]
    list_filter = [
        ("outcome", ChoicesDropdownFilter),
        ("error_kind", ChoicesDropdownFilter),
        ("started_at", LocalRangeDateTimeFilter),
    ]
    list_filter_submit = True
    list_select_related = ["cedula"]
    # Each filter has an index ending in started_at (and the rowid): the newest page is read straight off it.
    ordering = ["-started_at"]
    sortable_by = ["started_at"]
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    fields = ["cedula", "started_at", "duration_ms", "outcome", "error_kind", "message", "attempt", "worker_pid",
              "task_id", "snapshot_text"]  # fmt: skip
    readonly_fields = fields
    resource_classes = [LookupAttemptResource]
    export_form_class = ExportForm

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cedula.export_cedulas")

    @display(description="resultado", ordering="outcome", label=OUTCOME_COLORS)
    def outcome_badge(self, obj: LookupAttempt) -> tuple[str, str]:
        return obj.outcome, obj.get_outcome_display()

    @display(description="mensaje")
    def short_message(self, obj: LookupAttempt) -> str:
        return obj.message[:80]

    @display(description="captura (redactada)")
    def snapshot_text(self, obj: LookupAttempt) -> str:
        if not obj.snapshot:
            return "—"
        # Text, never rendered: a copy of a foreign page with its digits masked.
        return format_html('<pre class="max-h-96 overflow-auto text-xs whitespace-pre-wrap">{}</pre>', obj.snapshot)
