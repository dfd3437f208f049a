"""The second factor for staff (django-otp): enrolment by QR code, recovery codes, the code page, a reset.

The pages live under /admin/2fa/ in Unfold's look. The middleware (ops.accounts.middleware) sends a superuser or an
operator here until their session is verified; django-otp's own throttling slows down a guessed code.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, cast
from urllib.parse import quote

import qrcode
import qrcode.image.svg
import structlog
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from unfold.widgets import UnfoldAdminTextInputWidget

from cedula.request_audit import audit_request
from ops.accounts.models import User

logger = structlog.get_logger(__name__)

RECOVERY_CODES = 10
TOTP_NAME = "Aplicación de autenticación"
RECOVERY_NAME = "Códigos de recuperación"
_RECOVERY_SESSION_KEY = "two_factor_new_recovery_codes"
_ENROL_PERMIT_SESSION_KEY = "two_factor_enrol_permit"  # the user id whose enrolment code this session gave
ENROL_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from a message
ENROL_CODE_LENGTH = 12


class EnrolCodeForm(forms.Form):
    code = forms.CharField(
        label="Código de alta",
        max_length=32,
        widget=UnfoldAdminTextInputWidget(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Código",
        max_length=16,
        widget=UnfoldAdminTextInputWidget(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


# --- services ---------------------------------------------------------------------------------------------------


def has_confirmed_device(user: Any) -> bool:
    return any(isinstance(d, TOTPDevice) for d in devices_for_user(user, confirmed=True))


def totp_pending_device(*, user: User) -> TOTPDevice:
    """The device being enrolled: made once, shown until its first code is typed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def recovery_codes_issue(*, user: User) -> list[str]:
    """A fresh set of single-use recovery codes; the previous set stops working."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def two_factor_reset(*, user: User) -> int:
    """Forget the user's devices (a lost phone): the next console visit asks them to enrol again, with the password
    alone for STAFF_2FA_ENROL_WINDOW_H from now, then only with an enrolment code."""
    deleted = TOTPDevice.objects.filter(user=user).delete()[0]
    deleted += StaticDevice.objects.filter(user=user).delete()[0]
    User.objects.filter(pk=user.pk).update(
        two_factor_reset_at=timezone.now(), two_factor_enrol_code="", two_factor_enrol_code_until=None
    )
    logger.info("two_factor_reset", user_id=user.pk, devices=deleted)
    return deleted


def _enrol_window() -> dt.timedelta:
    return dt.timedelta(hours=settings.STAFF_2FA_ENROL_WINDOW_H)


def enrol_window_open(*, user: User, now: dt.datetime | None = None) -> bool:
    """A first enrolment with the password alone: only soon after the account was made or its 2FA reset. Past that,
    whoever holds the password (perhaps not the owner) must also hold a code a superuser gave the owner."""
    now = now or timezone.now()
    start = max(filter(None, [user.date_joined, user.two_factor_reset_at]))
    return now - start <= _enrol_window()


def enrol_code_issue(*, user: User) -> str:
    """A one-time enrolment code for `user` (shown once to the superuser who asked; stored hashed), valid for
    STAFF_2FA_ENROL_WINDOW_H. A new code replaces the previous one."""
    code = get_random_string(ENROL_CODE_LENGTH, allowed_chars=ENROL_CODE_ALPHABET)
    User.objects.filter(pk=user.pk).update(
        two_factor_enrol_code=make_password(code), two_factor_enrol_code_until=timezone.now() + _enrol_window()
    )
    logger.info("two_factor_enrol_code_issued", user_id=user.pk)
    return code


def enrol_code_redeem(*, user: User, code: str) -> bool:
    """True, once, for the user's current code before it expires; the code is spent either way it matched."""
    normalised = "".join(code.split()).replace("-", "").upper()
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        until = row.two_factor_enrol_code_until
        if not row.two_factor_enrol_code or until is None or until < timezone.now():
            return False
        if not check_password(normalised, row.two_factor_enrol_code):
            return False
        User.objects.filter(pk=user.pk).update(two_factor_enrol_code="", two_factor_enrol_code_until=None)
    return True


def qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


# --- views ------------------------------------------------------------------------------------------------------


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("admin:index")


def _page(request: HttpRequest, template: str, **context: Any) -> HttpResponse:
    base = admin.site.each_context(request)
    return render(request, template, {**base, "next": _next_url(request), **context})


def _staff_required(view: Any) -> Any:
    return never_cache(login_required(view, login_url="admin:login"))


@_staff_required
def verify_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not has_confirmed_device(user):
        return redirect(reverse("two_factor_enrol") + "?next=" + quote(_next_url(request)))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"].replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            recovery = isinstance(device, StaticDevice)
            audit_request(request, action="auth.2fa_recovery_used" if recovery else "auth.2fa_verified")
            return redirect(_next_url(request))
        audit_request(request, action="auth.2fa_failed", outcome="denied")
        form.add_error("token", "El código no es válido. Revisa la hora del teléfono o usa un código de recuperación.")
    return _page(request, "admin/accounts/two_factor_verify.html", form=form, title="Verificación en dos pasos")


def _enrol_code_page(request: HttpRequest, user: User) -> HttpResponse:
    """Past the enrolment window: the QR code (the secret) is shown only after a superuser's one-time code."""
    form = EnrolCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if enrol_code_redeem(user=user, code=form.cleaned_data["code"]):
            request.session[_ENROL_PERMIT_SESSION_KEY] = user.pk
            audit_request(request, action="auth.2fa_enrol_code_used", target=user)
            return redirect(reverse("two_factor_enrol") + "?next=" + quote(_next_url(request)))
        audit_request(request, action="auth.2fa_enrol_code_failed", target=user, outcome="denied")
        form.add_error("code", "El código de alta no es válido o ya venció. Pide uno nuevo a un administrador.")
    return _page(
        request,
        "admin/accounts/two_factor_enrol_code.html",
        form=form,
        title="Código de alta",
        window_hours=f"{settings.STAFF_2FA_ENROL_WINDOW_H:g}",
    )


@_staff_required
def enrol_view(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # login_required
    if has_confirmed_device(user):
        return redirect(reverse("two_factor_verify") + "?next=" + quote(_next_url(request)))
    permitted = request.session.get(_ENROL_PERMIT_SESSION_KEY) == user.pk
    if not permitted and not enrol_window_open(user=user):
        return _enrol_code_page(request, user)
    device = totp_pending_device(user=user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].replace(" ", "")):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session.pop(_ENROL_PERMIT_SESSION_KEY, None)
            request.session[_RECOVERY_SESSION_KEY] = recovery_codes_issue(user=user)
            audit_request(request, action="auth.2fa_enrolled", target=user)
            return redirect(reverse("two_factor_recovery") + "?next=" + quote(_next_url(request)))
        form.add_error("token", "El código no coincide. Escanea el código QR de nuevo y escribe el código que muestra.")
    return _page(
        request,
        "admin/accounts/two_factor_enrol.html",
        form=form,
        title="Activar la verificación en dos pasos",
        qr=mark_safe(qr_svg(device.config_url)),  # noqa: S308 - our own SVG, no user input
        secret=base64.b32encode(device.bin_key).decode().rstrip("="),
        issuer=settings.OTP_TOTP_ISSUER,
    )


@_staff_required
def recovery_view(request: HttpRequest) -> HttpResponse:
    # Shown once, right after enrolment: the console never shows them again (a superuser reset issues new ones).
    codes = request.session.pop(_RECOVERY_SESSION_KEY, None)
    if not codes:
        return redirect(_next_url(request))
    return _page(request, "admin/accounts/two_factor_recovery.html", codes=codes, title="Códigos de recuperación")
