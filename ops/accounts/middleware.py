"""Request-wide security rules: the audit trail knows the request; staff who need a second factor give it first."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from cedula.request_audit import audit_request, request_origin
from cedula.services.audit import bind_origin, unbind_origin
from ops.accounts.security import staff_requires_2fa

# Under /admin/, what a staff member may reach before the second factor: the 2FA pages, logging in and out.
TWO_FACTOR_OPEN_PREFIXES = ("/admin/2fa/", "/admin/login/", "/admin/logout/", "/admin/jsi18n/")


class AuditRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = bind_origin(request_origin(request))
        try:
            response = self.get_response(request)
            if response.status_code == 403 and request.method == "POST" and request.path.startswith("/admin/"):
                # A console action refused for lack of permission: who tried is part of the trail.
                if getattr(request, "user", None) is not None and request.user.is_authenticated:
                    audit_request(request, action="console.denied", target=request.path, outcome="denied")
            return response
        finally:
            unbind_origin(token)


def _staff_cleared(request: HttpRequest) -> bool:
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return not staff_requires_2fa(user) or bool(user.is_verified())  # type: ignore[attr-defined]


class StaffTwoFactorMiddleware:
    """A superuser or an operator whose session has not passed the second factor reaches no console page: they are
    sent to enrol (no device yet) or to type a code. Their password alone opens nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Whether this request speaks for cleared staff (active staff, past the second factor where one is needed):
        # pages outside the console (/healthz) read it here rather than deciding it again.
        request.staff_cleared = _staff_cleared(request)  # type: ignore[attr-defined]
        path = request.path
        if path.startswith("/admin/") and not path.startswith(TWO_FACTOR_OPEN_PREFIXES):
            user = request.user
            # OTPMiddleware (earlier in MIDDLEWARE) gives the user is_verified().
            if staff_requires_2fa(user) and not user.is_verified():  # type: ignore[union-attr]
                from ops.accounts.two_factor import has_confirmed_device

                target = "two_factor_verify" if has_confirmed_device(user) else "two_factor_enrol"
                response = redirect(target)
                if request.method == "GET":
                    response["Location"] += "?next=" + request.get_full_path().replace("&", "%26")
                return response
        return self.get_response(request)
