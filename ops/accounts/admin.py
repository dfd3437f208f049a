from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from cedula.normalize import normalize_cedula
from ops.accounts.models import User

admin.site.unregister(Group)


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


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass
