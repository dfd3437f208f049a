from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from cedula.normalize import normalize_cedula
from cedula.request_audit import audit_request
from ops.accounts import admin_security  # noqa: F401 - registers Auditoría and Bloqueos de ingreso
from ops.accounts.models import User

admin.site.unregister(Group)
# django-otp's own pages show a device's secret (its QR code): devices are managed only through enrolment and reset.
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)


class _CanonicalCedulaMixin:
    """Staff may type a cedula in any format; it is stored canonical, and a duplicate in another format is refused."""

    cleaned_data: dict[str, Any]
    instance: User

    def clean_cedula(self) -> str | None:
        raw = self.cleaned_data.get("cedula")
        if not raw:
            return None
        try:
            cedula = normalize_cedula(raw)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        clash = User.objects.filter(cedula=cedula)
        if self.instance.pk is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Ya existe un usuario con esta cédula.")
        return cedula


def _cedula_field() -> forms.CharField:
    # Longer than the column: "C.C. 1.234.567.890" is valid input; the canonical digits fit in 10.
    return forms.CharField(label="Cédula", required=False, max_length=30)


class StaffUserCreationForm(_CanonicalCedulaMixin, UserCreationForm):
    cedula = _cedula_field()

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("email", "cedula")


class StaffUserChangeForm(_CanonicalCedulaMixin, UserChangeForm):
    cedula = _cedula_field()

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    change_password_form = AdminPasswordChangeForm
    ordering = ["email"]
    list_display = ["email", "cedula", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "cedula"]
    fieldsets = (
        (None, {"fields": ("email", "password", "cedula")}),
        ("Datos personales", {"fields": ("first_name", "last_name")}),
        ("Permisos", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Fechas", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "cedula", "password1", "password2")}),)
    actions = ["reset_two_factor", "issue_enrol_code"]

    def has_reset_two_factor_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @action(description="Restablecer la verificación en dos pasos", permissions=["reset_two_factor"])
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet) -> None:
        from ops.accounts.two_factor import two_factor_reset

        users = list(queryset)
        devices = sum(two_factor_reset(user=user) for user in users)
        audit_request(request, action="auth.2fa_reset", target=queryset, count=len(users),
                     details={"devices": devices, "users": [u.email for u in users][:50]})  # fmt: skip
        self.message_user(
            request, f"Verificación en dos pasos restablecida para {len(users)} usuarios: la activarán de nuevo."
        )

    def has_issue_enrol_code_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @action(description="Generar código de alta en dos pasos", permissions=["issue_enrol_code"])
    def issue_enrol_code(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse:
        from ops.accounts.two_factor import enrol_code_issue

        users = list(queryset.order_by("email")[:50])
        codes = [(user.email, enrol_code_issue(user=user)) for user in users]
        audit_request(request, action="auth.2fa_enrol_code_issued", target=queryset, count=len(users),
                     details={"users": [u.email for u in users]})  # fmt: skip
        context = {
            **self.admin_site.each_context(request),
            "title": "Códigos de alta en dos pasos",
            "opts": self.opts,
            "codes": codes,
            "hours": f"{settings.STAFF_2FA_ENROL_WINDOW_H:g}",
            "back_url": reverse("admin:accounts_user_changelist"),
        }
        response = TemplateResponse(request, "admin/accounts/enrol_codes.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass
