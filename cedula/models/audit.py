"""The audit trail: one AuditRecord per staff action, and the cedula rows it named one by one."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cedula.staff_time import format_staff_time


class AuditRecord(models.Model):
    """One staff action: who, when, from where, what, on what (one object, a batch, or a filter with its row count),
    and how it ended. Written by cedula.services.audit.audit_record only; never changed or deleted from the console.

    `action` is a stable code ("cedula.queue_now"); its Spanish label lives in cedula.services.audit.ACTION_LABELS, so
    a new action needs no migration."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Correcto"
        FAILURE = "failure", "Falló"
        DENIED = "denied", "Denegado"

    at = models.DateTimeField("fecha", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_records",
        verbose_name="quién",
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
        return f"{self.action} @ {format_staff_time(self.at)}"


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
