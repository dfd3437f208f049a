"""ImportBatch: one row per imported file. Its page shows how far its lookups have got, when they will be done, and
the buttons that steer it (each with its permission and a confirmation that says how many rows it touches)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from cedula import display as screen
from cedula import selectors, services
from cedula.admin.exports import csv_body
from cedula.admin.import_export import CedulaExportResource
from cedula.admin.permissions import QueuePermissionMixin
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.admin.spend import batch_spend_view
from cedula.console_actions import BATCH_BUTTONS, BATCH_EXPORT, BATCH_REVALIDATE, batch_button
from cedula.importing import clean_file_name
from cedula.models import BatchEvent, CedulaInfo, ImportBatch, Status
from cedula.request_audit import audit_request
from cedula.services import revalidation

EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# (key in the page, label, color): the row states of cedula/display.py, so the batch page says what every list says.
STATE_ROWS = [(key, screen.STATES[key].label, screen.STATES[key].color) for key in screen.BATCH_PAGE_STATES]


def batch_scope(batch: ImportBatch) -> str:
    """What a batch button's confirmation acts on: "censo.csv (importado el 05/12/2026 10:11:02, 1.200 filas)"."""
    rows = f"{batch.total_rows:,}".replace(",", ".") + (" fila" if batch.total_rows == 1 else " filas")
    return f"{batch.file_name} (importado el {screen.format_staff_time(batch.created_at)}, {rows})"


def batch_page_url(batch_id: int) -> str:
    return reverse("admin:cedula_importbatch_change", args=[batch_id])


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, QueuePermissionMixin, ModelAdmin):  # batches come from imports only
    list_display = ["file_name", "created_at", "created_by", "total_rows", "progress_cell", "eta_cell", "errors_cell",
                    "invalid_rows", "paused_label", "cedulas_link"]  # fmt: skip
    list_select_related = ["created_by"]
    list_per_page = 10  # each batch on the page is counted live (one pass over its rows): 10 keep it under 150 ms
    readonly_fields = [f.name for f in ImportBatch._meta.fields]
    change_form_before_template = "admin/cedula/importbatch/batch_page.html"
    actions = ["revalidate"]

    @action(description=BATCH_REVALIDATE.label, permissions=["queue"])
    def revalidate(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = revalidation.batches_revalidate(
            batch_ids=queryset.values_list("pk", flat=True), requested_by=request.user.get_username()
        )
        audit_request(request, action=BATCH_REVALIDATE.audit_code, target=queryset, count=count)
        self.message_user(request, BATCH_REVALIDATE.done_message(count), messages.SUCCESS)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        # The page's batches' row counts in one pass (not three subqueries per batch): set on the objects shown.
        changelist = super().get_changelist_instance(request)
        counts = selectors.batch_row_counts(ids=[batch.pk for batch in changelist.result_list])
        for batch in changelist.result_list:
            batch.rows_all, batch.rows_left, batch.rows_error = counts.get(batch.pk, (0, 0, 0))
        return changelist

    @display(description="avance")
    def progress_cell(self, obj: ImportBatch) -> str:
        total, left = getattr(obj, "rows_all", 0), getattr(obj, "rows_left", 0)
        if not total:
            return "sin cédulas nuevas"
        done = total - left
        text = f"{done:,} de {total:,} ({int(100 * done / total)} %)".replace(",", ".")
        # A batch with work left refreshes its row by itself (cedula/static/cedula/live_rows.js).
        return format_html('<span data-live="1">{}</span>', text) if left else text

    @display(description="hora estimada de fin")
    def eta_cell(self, obj: ImportBatch) -> str:
        if not getattr(obj, "rows_left", 0):
            return "terminado"
        eta = selectors.batch_eta(batch_id=obj.pk, per_row=selectors.batch_lookups_per_row(batch_id=obj.pk))
        if eta.reason == "paused":
            return "en pausa"
        if eta.reason == "stopped":
            return "consultas en pausa"
        if eta.finish_at is None:
            return "—"
        return screen.format_staff_time(eta.finish_at)

    @display(description="en error")
    def errors_cell(self, obj: ImportBatch) -> str:
        errors = getattr(obj, "rows_error", 0)
        if not errors:
            return "0"
        url = reverse("admin:cedula_cedulainfo_changelist") + f"?import_batch__id__exact={obj.pk}&status__exact=error"
        return format_html('<a class="text-red-600 underline" href="{}">{}</a>', url, f"{errors:,}".replace(",", "."))

    @display(description="cédulas")
    def cedulas_link(self, obj: ImportBatch) -> str:
        url = reverse("admin:cedula_cedulainfo_changelist") + f"?import_batch__id__exact={obj.pk}"
        return format_html('<a class="text-primary-600" href="{}">ver</a>', url)

    @display(description="estado", label={screen.STATES["held"].label: screen.STATES["held"].color, "": "default"})
    def paused_label(self, obj: ImportBatch) -> str:
        return screen.STATES["held"].label if obj.is_paused else ""

    # --- the batch page ----------------------------------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        batch = self.get_object(request, object_id)
        if batch is None or not self.has_view_permission(request, batch):
            return super().change_view(request, object_id, form_url, extra_context)
        context = {**(extra_context or {}), **self.batch_context(request, batch)}
        return super().change_view(request, object_id, form_url, context)

    @staticmethod
    def _button_applies(name: str, batch: ImportBatch, page: selectors.BatchPage) -> bool:
        """Only a button that can still change something is offered (never one that leads to "Confirmar (0)")."""
        if name == BatchEvent.Action.RETRY_ERRORS:
            return page.answered[Status.ERROR] > 0
        if name == BatchEvent.Action.PAUSE:
            return not batch.is_paused and page.queued > 0
        if name == BatchEvent.Action.RESUME:
            return batch.is_paused or page.held > 0
        if name == BatchEvent.Action.CANCEL:
            return page.queued + page.held > 0
        # Adelantar / Atrasar move the batch's due bulk rows: counted exactly, as their confirmation counts.
        rows = CedulaInfo.objects.filter(import_batch=batch)
        return page.queued > 0 and services.rows_touched(rows=rows, action=name).exists()

    def batch_context(self, request: HttpRequest, batch: ImportBatch) -> dict[str, Any]:
        page = selectors.batch_page(batch_id=batch.pk)
        per_row = selectors.batch_lookups_per_row(batch_id=batch.pk)
        eta = selectors.batch_eta(batch_id=batch.pk, per_row=per_row)
        # The totals (every lookup since the import) only once the batch is done: its page stops refreshing then.
        work = selectors.batch_work(batch_id=batch.pk, since=batch.created_at) if eta.reason == "done" else None
        values = {"in_flight": page.in_flight, "queued": page.queued, "held": page.held, **page.answered}
        user = request.user
        buttons = [
            {
                "action": spec.name,
                "label": spec.label,
                "icon": spec.icon,
                "url": reverse("admin:cedula_importbatch_action", args=[batch.pk, spec.name]),
            }
            for spec in BATCH_BUTTONS
            if user.has_perm(spec.permission) and self._button_applies(spec.name, batch, page)
        ]
        return {
            "batch": batch,
            "page": page,
            "eta": eta,
            "work": work,
            "per_row": per_row,
            "finished": (
                {
                    "at": work.last_at,
                    "duration": screen.duration_text((work.last_at - batch.created_at).total_seconds()),
                }
                if work is not None and work.last_at
                else None
            ),
            "live_url": reverse("admin:cedula_importbatch_live", args=[batch.pk]),
            "states": [
                {"key": key, "label": label, "color": color, "count": values[key]}
                for key, label, color in STATE_ROWS
                if values[key] or key in ("queued", Status.ACTIVE, Status.ERROR)
            ],
            "buttons": buttons,
            "can_export": user.has_perm(BATCH_EXPORT.permission),
            "export_urls": {
                fmt: reverse("admin:cedula_importbatch_export", args=[batch.pk, fmt]) for fmt in EXPORT_FORMATS
            },
            "events": list(batch.events.select_related("by")[:10]),
            "changelist_url": reverse("admin:cedula_cedulainfo_changelist") + f"?import_batch__id__exact={batch.pk}",
            "errors_url": reverse("admin:cedula_cedulainfo_changelist")
            + f"?import_batch__id__exact={batch.pk}&status__exact={Status.ERROR}",
            "now": timezone.localtime(),
            "spend": batch_spend_view(batch_id=batch.pk, rows_left=page.outstanding),
        }

    def get_urls(self) -> list:
        urls = [
            path(
                "<int:batch_id>/accion/<slug:action>/",
                self.admin_site.admin_view(self.batch_action_view),
                name="cedula_importbatch_action",
            ),
            path(
                "<int:batch_id>/en-vivo/",
                self.admin_site.admin_view(self.batch_live_view),
                name="cedula_importbatch_live",
            ),
            path(
                "<int:batch_id>/exportar/<slug:fmt>/",
                self.admin_site.admin_view(self.batch_export_view),
                name="cedula_importbatch_export",
            ),
        ]
        return [*urls, *super().get_urls()]

    def batch_live_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        """The batch page's body alone: the page reloads it every few seconds while the batch has work left."""
        batch = get_object_or_404(ImportBatch, pk=batch_id)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), **self.batch_context(request, batch)}
        return TemplateResponse(request, "admin/cedula/importbatch/batch_page.html", context)

    def batch_action_view(self, request: HttpRequest, batch_id: int, action: str) -> HttpResponse:
        """GET: the confirmation, with the number of rows the action will touch. POST: do it."""
        spec = batch_button(action)
        if spec is None:
            raise Http404
        label = spec.label
        if not request.user.has_perm(spec.permission):
            raise PermissionDenied
        batch = get_object_or_404(ImportBatch, pk=batch_id)
        back = batch_page_url(batch.pk)
        if request.method == "POST":
            count = services.BATCH_ACTIONS[action](batch=batch, by=request.user)
            audit_request(request, action=spec.audit_code, target=batch, count=count)
            self.message_user(request, spec.done_message(count), messages.SUCCESS)
            return HttpResponseRedirect(back)
        rows = services.rows_touched(rows=CedulaInfo.objects.filter(import_batch=batch), action=action)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label} · {batch.file_name}",
            "subtitle": None,
            "opts": self.opts,
            "label": label,
            "text": spec.confirmation,
            "scope": {"label": "Lote", "value": batch_scope(batch)},
            "count": rows.count(),
            "back_url": back,
            "action_testid": action,
        }
        return TemplateResponse(request, "admin/cedula/confirm_action.html", context)

    def batch_export_view(self, request: HttpRequest, batch_id: int, fmt: str) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            raise Http404
        if not request.user.has_perm(BATCH_EXPORT.permission):
            raise PermissionDenied
        batch = get_object_or_404(ImportBatch, pk=batch_id)
        rows = CedulaInfo.objects.filter(import_batch=batch).order_by("id")
        dataset = CedulaExportResource().export(queryset=rows)
        services.batch_record_export(batch=batch, rows=len(dataset), by=request.user)
        audit_request(request, action=BATCH_EXPORT.audit_code, target=batch, count=len(dataset))
        body = csv_body(dataset) if fmt == "csv" else dataset.export("xlsx")
        response = HttpResponse(body, content_type=EXPORT_FORMATS[fmt])
        # Names stored before intake cleaned them may hold CR/LF or quotes: neither may reach a header.
        stem = batch.file_name.rsplit(".", 1)[0]
        stem = clean_file_name(stem).replace('"', "'") if stem.strip() else f"lote-{batch.pk}"
        response["Content-Disposition"] = f'attachment; filename="{stem}-resultados.{fmt}"'
        return response

    @display(description="avance de las consultas")
    def progress(self, obj: ImportBatch) -> str:
        batch = selectors.import_batch_progress(ids=[obj.pk])[0]
        if batch.percent is None:
            return "Sin cédulas nuevas: todas ya estaban en la base."
        return f"{batch.done} de {batch.total} consultadas ({batch.percent} %)"
