"""The cedula changelist and detail page: where staff find a row and act on it."""

from __future__ import annotations

from typing import Any

import structlog
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters, ShowFacets
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RelatedDropdownFilter
from unfold.decorators import action, display
from unfold.enums import ActionVariant
from unfold.forms import BaseDialogForm
from unfold.widgets import UnfoldAdminTextInputWidget

from cedula import data_subject, services
from cedula import display as screen
from cedula.admin.cedula_change import KIND_COLORS, change_summary_html
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
from cedula.models import CedulaChange, CedulaInfo, LookupAttempt
from cedula.normalize import ascii_digits, normalize_cedula
from cedula.registry.parser import RESULT_FIELDS
from cedula.services import revalidation
from cedula.services.audit import audit_record, audit_selection_ids

logger = structlog.get_logger(__name__)


STATE_COLORS = {state.key: state.color for state in screen.STATES.values()}
# A search term ending in one of these asks for every cedula that starts with its digits.
PREFIX_MARKERS = ("*", "…", "...")
PREFIX_MIN_DIGITS = 4
SEARCH_HELP = "Cédula (1.234.567) o inicio y * (7654*)"  # a prefix needs at least 4 digits


def parse_search(term: str) -> tuple[str, str] | None:
    """("exact", digits) or ("prefix", digits) for a search term; None when it cannot match any cedula.

    A prefix is the first digits of the number as written, without leading zeros (cedulas are stored without them):
    "7654*" finds 7654, 76540, 7654321 and 1.076.540.000 does not match. Compared as text on the unique column:
    cedula >= '7654' AND cedula < '7655' is a range read off its index whatever the lengths.
    """
    term = term.strip()
    for marker in PREFIX_MARKERS:
        if term.endswith(marker):
            digits = "".join(ch for ch in ascii_digits(term[: -len(marker)]) if ch in "0123456789").lstrip("0")
            if len(digits) < PREFIX_MIN_DIGITS or len(digits) > 10:
                return None
            return "prefix", digits
    try:
        return "exact", normalize_cedula(term)
    except ValueError:
        return None


def prefix_range(digits: str) -> tuple[str, str]:
    # The next string after every "digits…": bump the last character ('9' + 1 is ':', still above every digit).
    return digits, digits[:-1] + chr(ord(digits[-1]) + 1)


def state_label(state: screen.StateDisplay) -> SafeString:
    return render_to_string("unfold/helpers/label.html", {"type": state.color, "text": state.label})


# Changelist actions that may run on every row matching the current filters and search ("todas las que coinciden
# con el filtro"): name -> (title, what the confirmation says).
FILTER_ACTIONS: dict[str, tuple[str, str]] = {
    "queue_now": ("Consultar ahora", "Las cédulas del filtro pasan a la cola con prioridad de personal."),
    "retry_failed": ("Reintentar las fallidas", "Las cédulas del filtro que terminaron con error vuelven a la cola."),
    "reset_pending": (
        "Reiniciar a pendiente",
        "Se olvida la respuesta de las cédulas del filtro y vuelven a la cola (las que se consultan ahora no).",
    ),
    "cancel_pending": (
        "Cancelar pendientes",
        "Las cédulas del filtro que están en cola salen de ella: las ya consultadas conservan su respuesta, las nunca "
        "consultadas quedan «sin consultar (cancelada por el operador)».",
    ),
}
# Query parameters that are not filters (paging, ordering, the admin's own).
NON_FILTER_PARAMS = {"p", "o", "_changelist_filters", "_to_field", "_popup"}


class LookupAttemptInline(ReadOnlyAdminMixin, TabularInline):
    model = LookupAttempt
    fields = ["started_at_local", "outcome", "error_kind", "message", "duration_ms", "attempt"]
    readonly_fields = fields
    ordering = ["-started_at"]
    extra = 0
    per_page = 10
    can_delete = False
    show_change_link = True
    verbose_name_plural = "historial de consultas"

    @display(description="inicio")
    def started_at_local(self, obj: LookupAttempt) -> str:
        return screen.format_staff_time(obj.started_at)


class CedulaChangeInline(ReadOnlyAdminMixin, TabularInline):
    model = CedulaChange
    fk_name = "cedula"
    fields = ["changed_at", "kind_badge", "summary", "attempt"]
    readonly_fields = fields
    ordering = ["-changed_at", "-id"]
    extra = 0
    per_page = 10
    can_delete = False
    show_change_link = True
    verbose_name_plural = "historial de cambios"

    @display(description="tipo")
    def kind_badge(self, obj: CedulaChange) -> SafeString:
        # An inline's read-only cell prints a (value, label) tuple raw: the label is rendered here instead.
        return render_to_string(
            "unfold/helpers/label.html",
            {"type": dict(KIND_COLORS).get(CedulaChange.Kind(obj.kind), "default"), "text": obj.get_kind_display()},
        )

    @display(description="qué cambió")
    def summary(self, obj: CedulaChange) -> str:
        return change_summary_html(obj)


class PauseForm(BaseDialogForm):
    # Unfold's own widget: Django's plain TextInput has no border or background inside Unfold's dialog.
    reason = forms.CharField(label="Motivo", max_length=255, required=False, widget=UnfoldAdminTextInputWidget)


class ConfirmForm(BaseDialogForm):
    pass


def _done(request: HttpRequest, url: str) -> HttpResponse:
    # Unfold's dialogs post through htmx, which follows HX-Redirect; a plain form post gets a normal redirect.
    if request.headers.get("HX-Request"):
        return HttpResponse(headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


def _back_url(request: HttpRequest, *, default: str | None = None) -> str:
    # Back to the page the dialog was opened from (the dashboard or the changelist), never to another site.
    current = request.headers.get("HX-Current-URL", "") or request.headers.get("Referer", "")
    if current and url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()}):
        return current
    return default or reverse("admin:cedula_cedulainfo_changelist")


def _cedulas(count: int) -> str:
    return "1 cédula" if count == 1 else f"{count} cédulas"


def snapshot_html(snapshot: str, *, taken_at: Any) -> SafeString:
    """A redacted snapshot as text: the first lines, and the whole of it one click away (never rendered as HTML)."""
    return format_html(
        '<div class="text-xs mb-2">Tomada el {}</div>'
        '<details class="text-xs"><summary class="cursor-pointer text-primary-600 mb-2">Ver la captura completa'
        " ({} caracteres)</summary>"
        '<pre class="cc-snapshot">{}</pre></details>'
        '<pre class="cc-snapshot-preview">{}</pre>',
        screen.format_staff_time(taken_at),
        len(snapshot),
        snapshot,
        snapshot[:1500],
    )


def _describe_filters(changelist: Any) -> str:
    """The filters and search in words, for the confirmation ("estado: Error · búsqueda: 1234567")."""
    parts = []
    for spec in changelist.filter_specs:
        if not spec.has_output() and not getattr(spec, "used_parameters", None):
            continue
        chosen = [str(choice["display"]) for choice in spec.choices(changelist) if choice.get("selected")]
        chosen = [c for c in chosen if c not in ("Todo", "All", "Todos")]
        if chosen:
            parts.append(f"{spec.title}: {', '.join(chosen)}")
    if changelist.query:
        parts.append(f"búsqueda: {changelist.query}")
    return " · ".join(parts) or "ninguno (todas las cédulas)"


@admin.register(CedulaInfo)
class CedulaInfoAdmin(ReadOnlyAdminMixin, CedulaImportExportMixin, GateProbeMixin, ModelAdmin):
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
    actions = ["queue_now", "retry_failed", "reset_pending", "cancel_pending", "revalidate"]
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

    # --- permissions: rows change only through services (actions), never through the form (ReadOnlyAdminMixin) -----

    def has_queue_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cedula.queue_lookups")

    def has_data_subject_export_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cedula.export_cedulas")

    def has_pause_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cedula.pause_lookups")

    # Only the switch that applies is offered: "Pausar" while running, "Reanudar" while paused.
    def has_pause_now_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_pause_permission(request) and not breaker_view()["paused"]

    def has_resume_now_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_pause_permission(request) and bool(breaker_view()["paused"])

    # --- list -------------------------------------------------------------------------------------------------------

    @display(description="cédula", ordering="cedula")
    def cedula_grouped(self, obj: CedulaInfo) -> str:
        return screen.format_cedula(obj.cedula)

    @display(description="estado", ordering="status", label=STATE_COLORS)
    def status_badge(self, obj: CedulaInfo) -> tuple[str, str]:
        state = screen.row_state(obj)
        return state.key, state.label

    @display(description="estado")
    def state(self, obj: CedulaInfo) -> SafeString:
        return state_label(screen.row_state(obj))

    @display(description="último resultado")
    def last_answer(self, obj: CedulaInfo) -> str:
        # The state may read "En cola"; what the registry last said stays visible here.
        return obj.get_status_display() if obj.last_checked else "—"

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
        filter_actions = []
        if self.has_queue_permission(request):
            query = self._filter_query(request)
            filter_actions = [
                {"name": name, "label": label, "url": reverse("admin:cedula_cedulainfo_filter_action", args=[name])
                 + (f"?{query}" if query else "")}
                for name, (label, _text) in FILTER_ACTIONS.items()
            ]  # fmt: skip
        batch_id = request.GET.get("import_batch__id__exact", "")
        batch_url = reverse("admin:cedula_importbatch_change", args=[batch_id]) if batch_id.isdigit() else ""
        extra_context = {
            **(extra_context or {}),
            "breaker": breaker_view(),
            "can_probe": request.user.has_perm("cedula.probe_gate"),
            "filter_actions": filter_actions,
            "batch_page_url": batch_url,
            "filter_chips": active_filter_chips(request, self),
        }
        return super().changelist_view(request, extra_context)

    def _audit_refused_action(self, request: HttpRequest) -> None:
        """Django drops an action the account may not run without a word (the list just shows again): the trail
        records who tried, what and on how many ticked rows."""
        name = request.POST.get("action", "") if request.method == "POST" else ""
        if name in self.actions and name not in self.get_actions(request):
            ticked = len(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
            audit_record(request=request, action="console.denied", target=f"acción {name}", outcome="denied",
                         filter_query=request.GET, count=ticked)  # fmt: skip

    @staticmethod
    def _filter_query(request: HttpRequest) -> str:
        params = request.GET.copy()
        for key in NON_FILTER_PARAMS:
            params.pop(key, None)
        return params.urlencode()

    # --- bulk actions (changelist) ---------------------------------------------------------------------------------

    # Set-based: the ticked rows (or Django's "select all") go to the service as a queryset, one UPDATE each.

    @action(description="Consultar ahora", permissions=["queue"])
    def queue_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run_set_action(request, "queue_now", queryset)

    @action(description="Reintentar las fallidas", permissions=["queue"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run_set_action(request, "retry_failed", queryset)

    @action(description="Reiniciar a pendiente", permissions=["queue"])
    def reset_pending(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run_set_action(request, "reset_pending", queryset)

    @action(description="Cancelar pendientes", permissions=["queue"])
    def cancel_pending(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run_set_action(request, "cancel_pending", queryset)

    AUDIT_CODES = {
        "queue_now": "cedula.queue_now",
        "retry_failed": "cedula.retry_failed",
        "reset_pending": "cedula.reset_pending",
        "cancel_pending": "cedula.cancel",
    }

    SET_ACTION_MESSAGES = {
        "queue_now": ("{} en cola para consulta.", "{} en cola para consulta."),
        "retry_failed": ("{} con error vuelve a la cola.", "{} con error vuelven a la cola."),
        "reset_pending": ("{} reiniciada y en cola.", "{} reiniciadas y en cola."),
        "cancel_pending": (
            "{} sale de la cola (cancelada por el operador).",
            "{} salen de la cola (canceladas por el operador).",
        ),
    }

    def _run_set_action(self, request: HttpRequest, name: str, queryset: QuerySet) -> int:
        service = {
            "queue_now": services.cedulas_queue_matching,
            "retry_failed": services.cedulas_retry_failed_matching,
            "reset_pending": services.cedulas_reset_matching,
            "cancel_pending": services.cedulas_cancel_pending,
        }[name]
        named = audit_selection_ids(queryset)  # before the action: a status filter may not match the rows after
        count = service(rows=queryset)
        audit_record(request=request, action=self.AUDIT_CODES[name], target=queryset, count=count,
                     filter_query=request.GET, cedula_ids=named)  # fmt: skip
        # The query string is not logged (a search may hold a full cedula); the audit record keeps the filter.
        logger.info("cedulas_action", action=name, rows=count, user_id=request.user.pk)
        one, many = self.SET_ACTION_MESSAGES[name]
        self.message_user(request, (one if count == 1 else many).format(_cedulas(count)), messages.SUCCESS)
        return count

    def filter_action_view(self, request: HttpRequest, name: str) -> HttpResponse:
        """An action on every row matching the changelist's filters and search (carried in the query string).

        GET: the count and a confirmation; POST: one set-based UPDATE. The filters are the changelist's own, so
        what is counted is what the list shows."""
        if name not in FILTER_ACTIONS:
            raise Http404
        if not self.has_queue_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # As the list itself does with a filter it cannot read: back to it, saying so.
            return HttpResponseRedirect(reverse("admin:cedula_cedulainfo_changelist") + "?e=1")
        rows = changelist.get_queryset(request)
        query = self._filter_query(request)
        back = reverse("admin:cedula_cedulainfo_changelist") + (f"?{query}" if query else "")
        if request.method == "POST":
            self._run_set_action(request, name, rows)
            return HttpResponseRedirect(back)
        label, text = FILTER_ACTIONS[name]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label} · todas las que coinciden con el filtro",
            "subtitle": None,
            "opts": self.opts,
            "label": f"{label}: todas las que coinciden con el filtro",
            "text": text,
            "filter_description": _describe_filters(changelist),
            "count": services.rows_touched(rows=rows, action=name).count(),
            "back_url": back,
            "action_testid": name,
        }
        return TemplateResponse(request, "admin/cedula/confirm_action.html", context)

    @action(description="Revalidar", permissions=["queue"])
    def revalidate(self, request: HttpRequest, queryset: QuerySet) -> None:
        named = audit_selection_ids(queryset)
        count = revalidation.cedulas_revalidate(
            ids=queryset.values_list("pk", flat=True), requested_by=request.user.get_username()
        )
        audit_record(request=request, action="cedula.revalidate", target=queryset, count=count, cedula_ids=named)
        self.message_user(
            request,
            f"{count} cédulas en cola para revalidar (las que tienen error, nunca se consultaron o ya están en cola "
            "no se tocan).",
            messages.SUCCESS,
        )

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
        audit_record(
            request=request,
            action="cedula.lookup_now",
            target=CedulaInfo.objects.filter(pk=object_id).first(),
            count=count,
        )
        self.message_user(request, "Consulta en cola." if count else "La cédula ya estaba en cola.", messages.SUCCESS)
        # From the list the dialog returns to the list (same filters and page); from the detail, to the detail.
        detail = reverse("admin:cedula_cedulainfo_change", args=[object_id])
        return _done(request, _back_url(request, default=detail))

    @action(
        description="Exportar datos del titular",
        icon="folder_shared",
        permissions=["data_subject_export"],
        url_path="data-subject-export",
    )
    def data_subject_export(self, request: HttpRequest, object_id: str) -> HttpResponse:
        info = get_object_or_404(CedulaInfo, pk=object_id)
        payload = data_subject.cedula_data_subject_export(cedula=info)
        audit_record(request=request, action="cedula.data_subject_export", target=info, count=1)
        response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="titular-{info.pk}.json"'
        return response

    # --- the breaker's manual switch (changelist top and dashboard) ---------------------------------------------------

    @action(
        description="Pausar consultas",
        icon="pause_circle",
        permissions=["pause_now"],
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
        audit_record(request=request, action="lookups.pause", details={"reason": form.cleaned_data["reason"]})
        self.message_user(request, "Consultas en pausa.", messages.WARNING)
        return _done(request, _back_url(request))

    @action(
        description="Reanudar consultas",
        icon="play_circle",
        permissions=["resume_now"],
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
        audit_record(request=request, action="lookups.resume")
        self.message_user(request, "Consultas reanudadas.", messages.SUCCESS)
        return _done(request, _back_url(request))

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
        return [fragment, filter_action, *super().get_urls()]

    def dashboard_fragment_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return render(request, "admin/cedula/dashboard_panel.html", dashboard_context(request))
