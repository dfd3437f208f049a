"""The client's address, by the deployment's reverse-proxy rules (TRUST_PROXY_IP_HEADER, PROXY_IP_HEADER, PROXY_COUNT).

One function for the lockout (django-axes), the registration throttle and the audit trail. It sits outside the apps
so the domain (cedula) may use it without importing the accounts app.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, unless TRUST_PROXY_IP_HEADER says our reverse proxy sets PROXY_IP_HEADER: then the address
    PROXY_COUNT entries from the right of it (the left part is whatever the client sent, and a client can lie)."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR", ""))
    if not settings.TRUST_PROXY_IP_HEADER:
        return remote
    key = "HTTP_" + settings.PROXY_IP_HEADER.upper().replace("-", "_")
    hops = [h for h in (part.strip() for part in request.META.get(key, "").split(",")) if h]
    if len(hops) < settings.PROXY_COUNT:
        return remote
    return _valid_ip(hops[-settings.PROXY_COUNT]) or remote
