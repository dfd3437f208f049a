"""Unfold's action dialogs: their forms, and where a dialog returns once its action ran."""

from __future__ import annotations

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
