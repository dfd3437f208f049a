from __future__ import annotations

from typing import Any, ClassVar

from axes.models import AccessAttempt
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


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

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_requests")
    requested_at = models.DateTimeField("solicitada")

    class Meta:
        verbose_name = "actualización solicitada"
        verbose_name_plural = "actualizaciones solicitadas"
        indexes = [models.Index(fields=["user", "-requested_at"], name="refresh_user_recent_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.requested_at:%Y-%m-%d %H:%M}"


class AuditRecord(models.Model):
    """One staff action: who, when, from where, what, on what (one object, a batch, or a filter with its row count),
    and how it ended. Written by ops.accounts.audit.audit_record only; never changed or deleted from the console.

    `action` is a stable code ("cedula.queue_now"); its Spanish label lives in ops.accounts.audit.ACTION_LABELS, so a
    new action needs no migration."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Correcto"
        FAILURE = "failure", "Falló"
        DENIED = "denied", "Denegado"

    at = models.DateTimeField("fecha", db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_records", verbose_name="quién"
    )
    # Kept as text too: the record still says who after the account is deleted.
    actor_email = models.CharField("correo de quien actuó", max_length=254, blank=True)
    ip = models.GenericIPAddressField("dirección IP", null=True, blank=True)
    action = models.CharField("acción", max_length=64)
    target_type = models.CharField("tipo de objetivo", max_length=64, blank=True)
    target_id = models.CharField("id del objetivo", max_length=64, blank=True)
    target_repr = models.CharField("objetivo", max_length=255, blank=True)
    count = models.PositiveIntegerField("filas", null=True, blank=True)
    outcome = models.CharField("resultado", max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    details = models.JSONField("detalles", default=dict, blank=True)

    class Meta:
        verbose_name = "registro de auditoría"
        verbose_name_plural = "auditoría"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["actor", "-at"], name="audit_actor_recent_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_recent_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} @ {self.at:%Y-%m-%d %H:%M}"


class AuditRecordCedula(models.Model):
    """The cedula rows an audited action named one by one (a selection of up to AUDIT_NAMED_ROWS_MAX rows): what a
    data-subject export looks up. An action over a whole filter names the filter, not its rows."""

    record = models.ForeignKey(AuditRecord, on_delete=models.CASCADE, related_name="named_cedulas")
    cedula_id = models.BigIntegerField(db_index=True)  # no foreign key: the record outlives the row

    class Meta:
        verbose_name = "cédula nombrada en auditoría"
        verbose_name_plural = "cédulas nombradas en auditoría"

    def __str__(self) -> str:
        return f"{self.record_id} -> {self.cedula_id}"


class LoginLock(AccessAttempt):
    """django-axes' failed-login counter, shown in the console (in Spanish, under "Cuentas") as the lockouts page."""

    class Meta:
        proxy = True
        verbose_name = "bloqueo de ingreso"
        verbose_name_plural = "bloqueos de ingreso"

    def __str__(self) -> str:
        return f"{self.username} / {self.ip_address}"
