"""The open gate's "Probar ahora" button (cedulas list top and dashboard): its own permission, an audit record."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from unfold.decorators import action
from unfold.forms import BaseDialogForm

from cedula import services
from cedula.admin.dashboard import breaker_view
from cedula.admin.dialogs import back_url, done
from cedula.console_actions import LOOKUPS_PROBE
from cedula.request_audit import audit_request


class ProbeForm(BaseDialogForm):
    pass


class GateProbeMixin:
    """For CedulaInfoAdmin: list `probe_gate` in actions_list."""

    def has_probe_now_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Offered only while the gate is open: there is nothing to probe otherwise.
        return bool(request.user.has_perm(LOOKUPS_PROBE.permission) and breaker_view()["cause"])

    @action(
        description=LOOKUPS_PROBE.label,
        icon=LOOKUPS_PROBE.icon,
        permissions=["probe_now"],
        url_path="probe",
        dialog={
            "title": LOOKUPS_PROBE.label,
            "description": LOOKUPS_PROBE.confirmation,
            "form_class": ProbeForm,
            "form_submit_text": LOOKUPS_PROBE.submit,
        },
    )
    def probe_gate(self, request: HttpRequest, form: ProbeForm) -> HttpResponse:
        cause = breaker_view()["cause"]
        asked = services.gate_probe_request(by=request.user.get_username())
        audit_request(request, action=LOOKUPS_PROBE.audit_code, details={"cause": cause, "asked": asked})
        self.message_user(request, LOOKUPS_PROBE.done_message(1 if asked else 0), messages.INFO)  # type: ignore[attr-defined]
        return done(request, back_url(request))
