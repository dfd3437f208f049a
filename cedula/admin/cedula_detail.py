"""A cedula's page: its state label, the attempts and changes under it, and the redacted snapshot of a failure."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString
from unfold.admin import TabularInline
from unfold.decorators import display

from cedula import display as screen
from cedula.admin.cedula_change import KIND_COLORS, change_summary_html
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.models import CedulaChange, LookupAttempt


def state_label(state: screen.StateDisplay) -> SafeString:
    return render_to_string("unfold/helpers/label.html", {"type": state.color, "text": state.label})


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
