"""The web's side of the audit trail: who acts and from which address, read off the request being served.

Services record with `actor` and `ip` (cedula.services.audit.audit_record) and never see an HttpRequest; admin
views, views, middleware and signals call `audit_request(request, ...)`, which reads both here. The address goes
through ops.net.client_ip (the trusted-proxy rules).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cedula.models import AuditRecord
from cedula.services.audit import AuditOrigin, audit_record
from ops.net import client_ip


def request_origin(request: HttpRequest) -> AuditOrigin:
    return AuditOrigin(actor=lambda: getattr(request, "user", None), ip=client_ip(request))


def audit_request(request: HttpRequest | None, **kwargs: Any) -> AuditRecord:
    """`audit_record` for an entry point: the actor (unless given) and the address come from `request`; without
    one (None), those of the request being served, if any."""
    if request is not None and not kwargs.get("anonymous"):
        if kwargs.get("actor") is None:
            user = getattr(request, "user", None)
            kwargs["actor"] = user if user is not None and user.is_authenticated else None
        if kwargs.get("ip") is None:
            kwargs["ip"] = client_ip(request)
    return audit_record(**kwargs)
