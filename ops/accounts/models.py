from __future__ import annotations

from typing import Any, ClassVar

from axes.models import AccessAttempt
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models

from cedula.staff_time import format_staff_time


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("El correo es obligatorio.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in: staff of the console, or a citizen registered on the public site (with a cedula)."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("correo electrónico", unique=True)
    # Canonical digits (cedula.normalize). Staff accounts may have none.
    cedula = models.CharField("cédula", max_length=10, unique=True, null=True, blank=True)
    # The first authenticator is enrolled with the password alone only within STAFF_2FA_ENROL_WINDOW_H of the
    # account's creation or of this moment (a reset); otherwise with a one-time code a superuser issued (hashed).
    two_factor_reset_at = models.DateTimeField("verificación en dos pasos restablecida", null=True, blank=True)
    two_factor_enrol_code = models.CharField("código de alta (cifrado)", max_length=128, blank=True, default="")
    two_factor_enrol_code_until = models.DateTimeField("código de alta válido hasta", null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]  # email, not username, logs in

    class Meta:
        verbose_name = "usuario"
        verbose_name_plural = "usuarios"

    def __str__(self) -> str:
        return self.email


class RefreshRequest(models.Model):
    """One accepted "Actualizar datos" by a person. The per-hour and per-day refresh limits count these rows:
    durable (a restart or a cache flush must not hand out fresh allowances) and shared by every process."""

    user = models.ForeignKey(User, verbose_name="usuario", on_delete=models.CASCADE, related_name="refresh_requests")
    requested_at = models.DateTimeField("solicitada")

    class Meta:
        verbose_name = "actualización solicitada"
        verbose_name_plural = "actualizaciones solicitadas"
        indexes = [models.Index(fields=["user", "-requested_at"], name="refresh_user_recent_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {format_staff_time(self.requested_at)}"


class LoginLock(AccessAttempt):
    """django-axes' failed-login counter, shown in the console (in Spanish, under "Cuentas") as the lockouts page."""

    class Meta:
        proxy = True
        verbose_name = "bloqueo de ingreso"
        verbose_name_plural = "bloqueos de ingreso"

    def __str__(self) -> str:
        return f"{self.username} / {self.ip_address}"
