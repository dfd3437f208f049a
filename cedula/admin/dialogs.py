"""Unfold's action dialogs: their forms, and where a dialog returns once its action ran."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from unfold.forms import BaseDialogForm
from unfold.widgets import UnfoldAdminTextInputWidget


class PauseForm(BaseDialogForm):
    # Unfold's own widget: Django's plain TextInput has no border or background inside Unfold's dialog.
    reason = forms.CharField(label="Motivo", max_length=255, required=False, widget=UnfoldAdminTextInputWidget)


class ConfirmForm(BaseDialogForm):
    pass


class NamedConfirmForm(BaseDialogForm):
    """A row's dialog that names the row it acts on (a cedula, a schedule), read-only above its button."""

    target_label = "Sobre"

    def __init__(self, *args: Any, object_id: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, object_id=object_id, **kwargs)
        self.fields["target"] = forms.CharField(
            label=self.target_label, required=False, disabled=True, initial=self.describe(object_id),
            widget=UnfoldAdminTextInputWidget,
        )  # fmt: skip

    def describe(self, object_id: Any) -> str:
        raise NotImplementedError


class CedulaConfirmForm(NamedConfirmForm):
    target_label = "Cédula"

    def describe(self, object_id: Any) -> str:
        from cedula.display import format_cedula, row_state
        from cedula.models import CedulaInfo

        row = CedulaInfo.objects.filter(pk=object_id).first() if str(object_id or "").isdigit() else None
        return f"{format_cedula(row.cedula)} ({row_state(row).label.lower()})" if row else "—"


def done(request: HttpRequest, url: str) -> HttpResponse:
    # Unfold's dialogs post through htmx, which follows HX-Redirect; a plain form post gets a normal redirect.
    if request.headers.get("HX-Request"):
        return HttpResponse(headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


def back_url(request: HttpRequest, *, default: str | None = None) -> str:
    # Back to the page the dialog was opened from (the dashboard or the changelist), never to another site.
    current = request.headers.get("HX-Current-URL", "") or request.headers.get("Referer", "")
    if current and url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()}):
        return current
    return default or reverse("admin:cedula_cedulainfo_changelist")
