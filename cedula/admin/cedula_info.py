"""The cedula changelist and detail page: where staff find a row and act on it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ShowFacets
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RelatedDropdownFilter
from unfold.decorators import action, display
from unfold.enums import ActionVariant
from unfold.forms import BaseDialogForm

from cedula import services
from cedula.admin.dashboard import breaker_view, dashboard_context
from cedula.admin.filters import DepartamentoFilter, LocalRangeDateTimeFilter
from cedula.admin.import_export import CedulaImportExportMixin
from cedula.admin.pagination import CappedCountPaginator
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.models import CedulaInfo, LookupAttempt, Status
from cedula.normalize import normalize_cedula
from cedula.registry.parser import RESULT_FIELDS

STATUS_COLORS = {
    Status.PENDING: "info",
    Status.ACTIVE: "success",
    Status.CANCELLED: "warning",
    Status.NOT_FOUND: "default",
    Status.ERROR: "danger",
}


class LookupAttemptInline(ReadOnlyAdminMixin, TabularInline):
    model = LookupAttempt
    fields = ["started_at", "outcome", "error_kind", "message", "duration_ms", "attempt"]
    readonly_fields = fields
    ordering = ["-started_at"]
    extra = 0
    per_page = 10
    can_delete = False
    show_change_link = True
    verbose_name_plural = "historial de consultas"


class PauseForm(BaseDialogForm):
    reason = forms.CharField(label="Motivo", max_length=255, required=False)


class ConfirmForm(BaseDialogForm):
    pass


def _done(request: HttpRequest, url: str) -> HttpResponse:
    # Unfold's dialogs post through htmx, which follows HX-Redirect; a plain form post gets a normal redirect.
    if request.headers.get("HX-Request"):
        return HttpResponse(headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


def _back_url(request: HttpRequest) -> str:
    # Back to the page the dialog was opened from (the dashboard or the changelist), never to another site.
    current = request.headers.get("HX-Current-URL", "")
    if current and url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()}):
        return current
    return reverse("admin:cedula_cedulainfo_changelist")


@admin.register(CedulaInfo)
class CedulaInfoAdmin(ReadOnlyAdminMixin, CedulaImportExportMixin, ModelAdmin):
    list_display = [
        "cedula",
        "status_badge",
        "departamento",
        "municipio",
        "last_checked",
        "check_count",
        "error_kind_badge",
    ]
    list_filter = [
        ("status", ChoicesDropdownFilter),
        ("error_kind", ChoicesDropdownFilter),
        ("source", ChoicesDropdownFilter),
        ("import_batch", RelatedDropdownFilter),
        DepartamentoFilter,
        ("last_checked", LocalRangeDateTimeFilter),
    ]
    list_filter_submit = True
    search_fields = ["cedula"]
    search_help_text = "Cédula en cualquier formato: 1.234.567, 1,234,567, 0001234567, CC 1234567."
    # Newest first by primary key: every single-column index ends in the rowid, so any one filter reads its first
    # page straight off the index. Sorting is offered only on indexed columns.
    ordering = ["-id"]
    sortable_by = ["cedula", "last_checked"]
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_before_template = "admin/cedula/breaker_banner.html"
    actions = ["queue_now", "retry_failed", "reset_pending"]
    actions_row = ["lookup_now"]
    actions_detail = ["lookup_now"]
    actions_list = ["pause_lookups", "resume_lookups"]
    inlines = [LookupAttemptInline]
    fieldsets = [
        (None, {"fields": ["cedula", "status_badge", "source", "priority", "import_batch", "user"]}),
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
    readonly_fields = [f.name for f in CedulaInfo._meta.fields] + ["status_badge", "last_failure_snapshot"]

    # --- permissions: rows change only through services (actions), never through the form (ReadOnlyAdminMixin) -----

    def has_queue_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cedula.queue_lookups")

    def has_pause_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cedula.pause_lookups")

    # --- list -------------------------------------------------------------------------------------------------------

    @display(description="estado", ordering="status", label=STATUS_COLORS)
    def status_badge(self, obj: CedulaInfo) -> tuple[str, str]:
        return obj.status, obj.get_status_display()

    @display(description="tipo de error", label="danger")
    def error_kind_badge(self, obj: CedulaInfo) -> str:
        return obj.get_error_kind_display() if obj.error_kind else ""

    @display(description="captura")
    def last_failure_snapshot(self, obj: CedulaInfo) -> str:
        attempt = (
            obj.lookup_attempts.exclude(snapshot="").order_by("-started_at").only("started_at", "snapshot").first()
        )
        if attempt is None:
            return "—"
        # Shown as text, never rendered: it is a copy of a foreign page (digits already masked when stored).
        return format_html(
            '<div class="text-xs mb-2">{}</div>'
            '<pre class="max-h-96 overflow-auto text-xs whitespace-pre-wrap">{}</pre>',
            attempt.started_at,
            attempt.snapshot,
        )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # One exact match on the unique column, whatever the format typed: never a LIKE scan over a million rows.
        if not search_term.strip():
            return queryset, False
        try:
            return queryset.filter(cedula=normalize_cedula(search_term)), False
        except ValueError:
            return queryset.none(), False

    def get_ordering(self, request: HttpRequest) -> list[str]:
        # cedula_status_idx is (status, -updated_at): under a status filter that order comes straight off the index,
        # while "-id" would sort every row of the status. The other filters' indexes end in the rowid: "-id" is free.
        if request.GET.get("status__exact"):
            return ["-updated_at", "-id"]
        return ["-id"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "breaker": breaker_view()}
        return super().changelist_view(request, extra_context)

    # --- bulk actions (changelist) ---------------------------------------------------------------------------------

    @action(description="Consultar ahora", permissions=["queue"])
    def queue_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.cedulas_queue_now(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} cédulas en cola para consulta.", messages.SUCCESS)

    @action(description="Reintentar las fallidas", permissions=["queue"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.cedulas_retry_failed(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} cédulas con error vuelven a la cola.", messages.SUCCESS)

    @action(description="Reiniciar a pendiente", permissions=["queue"])
    def reset_pending(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.cedulas_reset(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} cédulas reiniciadas y en cola.", messages.SUCCESS)

    # --- row / detail action -----------------------------------------------------------------------------------------

    @action(
        description="Consultar ahora",
        icon="travel_explore",
        permissions=["queue"],
        url_path="lookup-now",
        dialog={
            "title": "Consultar ahora",
            "description": "La cédula pasa al frente de la cola de consultas.",
            "form_class": ConfirmForm,
            "form_submit_text": "Consultar",
        },
    )
    def lookup_now(self, request: HttpRequest, form: ConfirmForm, object_id: str) -> HttpResponse:
        count = services.cedulas_queue_now(ids=[int(object_id)])
        self.message_user(request, "Consulta en cola." if count else "La cédula ya estaba en cola.", messages.SUCCESS)
        return _done(request, reverse("admin:cedula_cedulainfo_change", args=[object_id]))

    # --- the breaker's manual switch (changelist top and dashboard) ---------------------------------------------------

    @action(
        description="Pausar consultas",
        icon="pause_circle",
        permissions=["pause"],
        variant=ActionVariant.WARNING,
        url_path="pause",
        dialog={
            "title": "Pausar las consultas",
            "description": "El trabajador no toma más cédulas hasta reanudar.",
            "form_class": PauseForm,
            "form_submit_text": "Pausar",
        },
    )
    def pause_lookups(self, request: HttpRequest, form: PauseForm) -> HttpResponse:
        services.breaker_pause(by=request.user.get_username(), reason=form.cleaned_data["reason"])
        self.message_user(request, "Consultas en pausa.", messages.WARNING)
        return _done(request, _back_url(request))

    @action(
        description="Reanudar consultas",
        icon="play_circle",
        permissions=["pause"],
        url_path="resume",
        dialog={
            "title": "Reanudar las consultas",
            "description": "El trabajador vuelve a tomar cédulas.",
            "form_class": ConfirmForm,
            "form_submit_text": "Reanudar",
        },
    )
    def resume_lookups(self, request: HttpRequest, form: ConfirmForm) -> HttpResponse:
        services.breaker_resume(by=request.user.get_username())
        self.message_user(request, "Consultas reanudadas.", messages.SUCCESS)
        return _done(request, _back_url(request))

    # --- the dashboard's refresh fragment ----------------------------------------------------------------------------

    def get_urls(self) -> list:
        fragment = path(
            "dashboard/",
            self.admin_site.admin_view(self.dashboard_fragment_view),
            name="cedula_cedulainfo_dashboard",
        )
        return [fragment, *super().get_urls()]

    def dashboard_fragment_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return render(request, "admin/cedula/dashboard_panel.html", dashboard_context(request))
