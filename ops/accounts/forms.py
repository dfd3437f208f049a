from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from cedula.normalize import normalize_cedula
from ops.accounts.models import User


class RegistrationForm(forms.ModelForm):
    password1 = forms.CharField(
        label="Contraseña", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Repite la contraseña", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    class Meta:
        model = User
        fields = ["email", "cedula"]
        labels = {"email": "Correo electrónico", "cedula": "Número de cédula"}
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "cedula": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cedula"].required = True
        self.fields["cedula"].widget.attrs["maxlength"] = 20
        cast(forms.CharField, self.fields["cedula"]).max_length = 20
        self.fields["cedula"].validators = []  # the model's max_length applies to the canonical digits

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("Ya existe una cuenta con este correo.")
        return email

    def clean_cedula(self) -> str:
        try:
            cedula = normalize_cedula(self.cleaned_data["cedula"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if User.objects.filter(cedula=cedula).exists():
            raise forms.ValidationError("Ya existe una cuenta registrada con esta cédula.")
        return cedula

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "Las contraseñas no coinciden.")
        elif p1:
            user = User(email=cleaned.get("email") or "", cedula=cleaned.get("cedula"))
            try:
                password_validation.validate_password(p1, user)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
        return user


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label="Correo electrónico", widget=forms.EmailInput(attrs={"autofocus": True}))
    error_messages = {
        "invalid_login": "Correo o contraseña incorrectos.",
        "inactive": "Esta cuenta está inactiva.",
    }


class ProfileForm(forms.ModelForm):
    """What a person may change about themselves. Not the cedula (only staff, in the console) and not the email."""

    class Meta:
        model = User
        fields = ["first_name", "last_name"]
        labels = {"first_name": "Nombres", "last_name": "Apellidos"}
