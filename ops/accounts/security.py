"""Who is asking and whether they may: the client address, the lockout page, and who needs a second factor.

django-axes calls login_username and lockout_response (settings AXES_*_CALLABLE) and ops.net.client_ip; the audit
trail uses the same address function, so every part of the system agrees on who is asking.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ops.net import client_ip  # noqa: F401 - django-axes and the views read it from here too

LOCKOUT_MESSAGE = (
    "Demasiados intentos fallidos de ingreso. Por seguridad, el ingreso queda bloqueado durante {minutes} minutos. "
    "Si no fuiste tú, avisa a un administrador."
)

# Permissions that only let an account look. Any other one (add, change, delete, import, export, queue, pause...,
# through a group of any name or given directly) lets it change or take data out: its password alone must not open
# a session (with STAFF_2FA_REQUIRED on).
READ_ONLY_PERMISSION_PREFIX = "view_"


def login_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """The account a login names, as the lockout counts it: "Ana@X.co " and "ana@x.co" are one account."""
    raw = None
    if credentials:
        raw = credentials.get("username") or credentials.get("email")
    if raw is None and request is not None:
        raw = request.POST.get("username")
    return str(raw).strip().lower() if raw else None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The same page whether the account exists or not, whether the account or the address is locked."""
    message = LOCKOUT_MESSAGE.format(minutes=settings.LOGIN_LOCKOUT_MIN)
    if request.path.startswith("/admin/"):
        from django.contrib import admin

        context = {**admin.site.each_context(request), "title": "Ingreso bloqueado", "message": message}
        response = render(request, "admin/accounts/locked.html", context, status=429)
    else:
        response = render(request, "accounts/locked.html", {"message": message}, status=429)
    return response


def can_change_or_export(user: Any) -> bool:
    """What the account can do, by every path (superuser flag, any group, direct permissions), not a group's name."""
    if not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    perms: set[str] = user.get_all_permissions()
    return any(not perm.partition(".")[2].startswith(READ_ONLY_PERMISSION_PREFIX) for perm in perms)


def staff_requires_2fa(user: Any) -> bool:
    """Staff who can change or export anything need a second factor; staff who can only look (Consulta) do not."""
    if not settings.STAFF_2FA_REQUIRED or not getattr(user, "is_authenticated", False) or not user.is_staff:
        return False
    return can_change_or_export(user)


def staff_session_unverified(request: HttpRequest) -> bool:
    """A staff session that has not passed a second factor: it may not delete or change the account from the
    public site (a password alone must not remove a console account or rewrite its email)."""
    user = request.user
    if not (user.is_authenticated and user.is_staff):
        return False
    return not getattr(user, "is_verified", lambda: False)()


def is_superuser_request(request: HttpRequest) -> bool:
    """Unfold's sidebar: the security pages are listed for superusers only."""
    return bool(request.user.is_active and request.user.is_superuser)
