"""CedulaChange: the "Cambios" list, what the registry changed between two final answers of a row."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from import_export import fields, resources
from import_export.admin import ExportMixin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RelatedDropdownFilter
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import display

from cedula.admin.exports import ExportFormatsMixin, SpanishExportMixin
from cedula.admin.filters import LocalRangeDateTimeFilter
from cedula.admin.pagination import CappedCountPaginator
from cedula.admin.permissions import ExportPermissionMixin
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.models import CedulaChange
from cedula.request_audit import audit_request

KIND_COLORS = {
    CedulaChange.Kind.STATUS: "danger",
    CedulaChange.Kind.PLACE: "info",
    CedulaChange.Kind.CANCELLATION: "warning",
}
FIELD_LABELS = {
    "status": "estado",
    "departamento": "departamento",
    "municipio": "municipio",
    "puesto": "puesto",
    "direccion": "dirección",
    "mesa": "mesa",
    "novedad": "novedad",
    "resolucion": "resolución",
    "fecha_novedad": "fecha novedad",
}
STATUS_LABELS = dict(CedulaChange._meta.get_field("new_status").choices or [])


def _value(field: str, value: str) -> str:
    if field == "status":
        return str(STATUS_LABELS.get(value, value))
    return value or "—"


def change_lines(change: CedulaChange) -> list[tuple[str, str, str]]:
    """(field label, old, new) for every field that changed: what the list, the detail page and the export show."""
    return [
        (FIELD_LABELS.get(name, name), _value(name, change.old_values.get(name, "")), _value(name, new))
        for name, new in change.new_values.items()
    ]


def change_summary_html(change: CedulaChange) -> str:
    return format_html_join(
        "",
        '<div class="text-xs"><span class="font-medium">{}:</span> {} → {}</div>',
        change_lines(change),
    )


class CedulaChangeResource(SpanishExportMixin, resources.ModelResource):
    cedula = fields.Field(attribute="cedula__cedula", column_name="Cédula")
    kind = fields.Field(attribute="get_kind_display", column_name="Tipo")
    batch = fields.Field(attribute="import_batch_id", column_name="Importación")
    changes = fields.Field(column_name="Cambios")

    class Meta:
        model = CedulaChange
        fields = ["id", "changed_at", "cedula", "kind", "old_status", "new_status", "changes", "batch", "attempt"]
        export_order = fields

    def dehydrate_old_status(self, obj: CedulaChange) -> str:
        return obj.get_old_status_display()

    def dehydrate_new_status(self, obj: CedulaChange) -> str:
        return obj.get_new_status_display()

    def dehydrate_changes(self, obj: CedulaChange) -> str:
        return "; ".join(f"{label}: {old} -> {new}" for label, old, new in change_lines(obj))

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("cedula")


@admin.register(CedulaChange)
# Written by the worker only: read-only here.
class CedulaChangeAdmin(ReadOnlyAdminMixin, ExportPermissionMixin, ExportFormatsMixin, ExportMixin, ModelAdmin):
    list_display = ["changed_at", "cedula_link", "kind_badge", "summary", "import_batch"]
    list_filter = [
        ("kind", ChoicesDropdownFilter),
        ("changed_at", LocalRangeDateTimeFilter),
        ("import_batch", RelatedDropdownFilter),
    ]
    list_filter_submit = True
    list_select_related = ["cedula", "import_batch"]
    # Every filter has an index ending in changed_at (and the rowid): the newest page comes straight off it.
    ordering = ["-changed_at", "-id"]
    sortable_by = ["changed_at"]
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    search_fields = ["cedula__cedula"]
    search_help_text = "Cédula en cualquier formato."
    fields = ["cedula", "changed_at", "kind", "old_status", "new_status", "summary", "attempt", "import_batch"]
    readonly_fields = fields
    resource_classes = [CedulaChangeResource]
    export_form_class = ExportForm

    def get_data_for_export(self, request: HttpRequest, queryset: Any, **kwargs: Any) -> Any:
        data = super().get_data_for_export(request, queryset, **kwargs)
        audit_request(request, action="changes.export", target=queryset, count=len(data),
                     filter_query=request.GET, cedula_ids=())  # fmt: skip
        return data

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        from cedula.normalize import normalize_cedula

        if not search_term.strip():
            return queryset, False
        try:
            return queryset.filter(cedula__cedula=normalize_cedula(search_term)), False
        except ValueError:
            return queryset.none(), False

    @display(description="cédula", ordering="cedula__cedula")
    def cedula_link(self, obj: CedulaChange) -> str:
        url = reverse("admin:cedula_cedulainfo_change", args=[obj.cedula_id])
        return format_html('<a class="text-primary-600" href="{}">{}</a>', url, obj.cedula.cedula)

    @display(description="tipo", ordering="kind", label=KIND_COLORS)
    def kind_badge(self, obj: CedulaChange) -> tuple[str, str]:
        return obj.kind, obj.get_kind_display()

    @display(description="qué cambió")
    def summary(self, obj: CedulaChange) -> str:
        return change_summary_html(obj)
