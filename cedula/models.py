"""The domain: one CedulaInfo per cedula, one LookupAttempt per request to the registry, one ImportBatch per file.

Queue state lives on CedulaInfo itself (the backlog is in the database, not in the broker):
- next_attempt_at set   -> a lookup is wanted, due at that time (a retry has it in the future);
- claimed_at set        -> a worker holds the row right now (claim_token proves which one);
- both empty            -> idle: status holds the last final answer (or `error` after the retries ran out).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Status(models.TextChoices):
    PENDING = "pending", "Pendiente"
    ACTIVE = "active", "Vigente"
    CANCELLED = "cancelled", "Cancelada"
    NOT_FOUND = "not_found", "No encontrada"
    ERROR = "error", "Error"


FINAL_STATUSES = (Status.ACTIVE, Status.CANCELLED, Status.NOT_FOUND)


class Source(models.TextChoices):
    REGISTRATION = "registration", "Registro"
    IMPORT = "import", "Importación"
    ADMIN = "admin", "Consola"
    REFRESH = "refresh", "Actualización"


class Priority(models.IntegerChoices):
    # Higher runs first: a person waiting on a page beats a staff retry beats bulk work.
    BULK = 10, "Masiva"
    STAFF = 20, "Personal"
    INTERACTIVE = 30, "Interactiva"


class ErrorKind(models.TextChoices):
    BLOCKED = "blocked", "Bloqueado"
    CAPTCHA = "captcha", "Captcha"
    EXPIRED = "expired", "Sesión vencida"
    TIMEOUT = "timeout", "Tiempo agotado"
    NETWORK = "network", "Red"
    UNEXPECTED_PAGE = "unexpected_page", "Página inesperada"
    SERVER_ERROR = "server_error", "Error del servidor"
    RATE_LIMITED = "rate_limited", "Límite de peticiones"
    BROWSER = "browser", "Navegador"
    WORKER_LOST = "worker_lost", "Trabajador perdido"


class ImportBatch(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_batches"
    )
    created_at = models.DateTimeField("creada", auto_now_add=True, db_index=True)
    file_name = models.CharField("archivo", max_length=255)
    total_rows = models.PositiveIntegerField("filas", default=0)
    new_rows = models.PositiveIntegerField("nuevas", default=0)
    existing_rows = models.PositiveIntegerField("ya conocidas", default=0)
    requeued_rows = models.PositiveIntegerField("reencoladas", default=0)
    duplicate_rows = models.PositiveIntegerField("duplicadas en el archivo", default=0)
    invalid_rows = models.PositiveIntegerField("inválidas", default=0)

    class Meta:
        verbose_name = "importación"
        verbose_name_plural = "importaciones"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"


class CedulaInfo(models.Model):
    cedula = models.CharField("cédula", max_length=10, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="cedula_info"
    )
    status = models.CharField("estado", max_length=16, choices=Status.choices, default=Status.PENDING)
    source = models.CharField("origen", max_length=16, choices=Source.choices, default=Source.ADMIN)
    priority = models.PositiveSmallIntegerField("prioridad", choices=Priority.choices, default=Priority.BULK)
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="cedulas"
    )

    departamento = models.CharField(max_length=100, blank=True)
    municipio = models.CharField(max_length=100, blank=True)
    puesto = models.CharField(max_length=200, blank=True)
    direccion = models.CharField("dirección", max_length=255, blank=True)
    mesa = models.CharField(max_length=20, blank=True)
    novedad = models.CharField(max_length=200, blank=True)
    resolucion = models.CharField("resolución", max_length=50, blank=True)
    fecha_novedad = models.DateField("fecha novedad", null=True, blank=True)

    last_checked = models.DateTimeField("última consulta", null=True, blank=True)
    last_error = models.TextField("último error", blank=True)
    error_kind = models.CharField("tipo de error", max_length=20, choices=ErrorKind.choices, blank=True)
    check_count = models.PositiveIntegerField("consultas", default=0)
    attempts = models.PositiveSmallIntegerField("intentos en el ciclo", default=0)

    next_attempt_at = models.DateTimeField("próximo intento", null=True, blank=True)
    claimed_at = models.DateTimeField("tomada", null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_by = models.CharField("tomada por", max_length=100, blank=True)

    created_at = models.DateTimeField("creada", auto_now_add=True)
    updated_at = models.DateTimeField("actualizada", auto_now=True)

    class Meta:
        verbose_name = "cédula"
        verbose_name_plural = "cédulas"
        permissions = [
            ("import_cedulas", "Puede importar cédulas"),
            ("export_cedulas", "Puede exportar cédulas"),
            ("queue_lookups", "Puede encolar, reintentar y reiniciar consultas"),
            ("pause_lookups", "Puede pausar y reanudar las consultas"),
        ]
        indexes = [
            # The dispatcher's question: the most urgent due row that nobody holds. A partial index keeps it
            # small (only queued rows) and ordered the way the query reads it.
            models.Index(
                fields=["-priority", "next_attempt_at", "id"],
                name="cedula_due_idx",
                condition=Q(next_attempt_at__isnull=False, claimed_at__isnull=True),
            ),
            models.Index(fields=["claimed_at"], name="cedula_claimed_idx", condition=Q(claimed_at__isnull=False)),
            models.Index(fields=["status", "-updated_at"], name="cedula_status_idx"),
            # Narrow: the dashboard's per-status counts read only this.
            models.Index(fields=["status"], name="cedula_status_only_idx"),
            models.Index(fields=["import_batch", "status"], name="cedula_batch_status_idx"),
            models.Index(fields=["error_kind"], name="cedula_error_kind_idx"),
            models.Index(fields=["source"], name="cedula_source_idx"),
            models.Index(fields=["departamento"], name="cedula_departamento_idx"),
            models.Index(fields=["last_checked"], name="cedula_last_checked_idx"),
            models.Index(fields=["-updated_at", "-id"], name="cedula_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.cedula

    @property
    def is_queued(self) -> bool:
        return self.next_attempt_at is not None or self.claimed_at is not None


class LookupAttempt(models.Model):
    """One request to the registry. The structured failure log of the console."""

    class Outcome(models.TextChoices):
        ACTIVE = "active", "Vigente"
        CANCELLED = "cancelled", "Cancelada"
        NOT_FOUND = "not_found", "No encontrada"
        ERROR = "error", "Error"

    cedula = models.ForeignKey(CedulaInfo, on_delete=models.CASCADE, related_name="lookup_attempts")
    started_at = models.DateTimeField("inicio", db_index=True)
    duration_ms = models.PositiveIntegerField("duración (ms)", default=0)
    outcome = models.CharField("resultado", max_length=16, choices=Outcome.choices)
    error_kind = models.CharField("tipo de error", max_length=20, choices=ErrorKind.choices, blank=True)
    message = models.TextField("mensaje", blank=True)
    attempt = models.PositiveSmallIntegerField("intento", default=1)
    worker_pid = models.PositiveIntegerField("pid", null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # Redacted HTML of a non-final answer (digits masked, size-capped); never kept for successful lookups.
    snapshot = models.TextField("captura", blank=True)

    class Meta:
        verbose_name = "intento de consulta"
        verbose_name_plural = "intentos de consulta"
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["outcome", "started_at"], name="attempt_outcome_idx"),
            models.Index(fields=["error_kind", "started_at"], name="attempt_error_kind_idx"),
            models.Index(fields=["cedula", "-started_at"], name="attempt_cedula_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} @ {self.started_at:%Y-%m-%d %H:%M:%S}"


class Throttle(models.Model):
    """The global gap between requests to the registry, shared by every process (one row per key)."""

    key = models.CharField(max_length=50, primary_key=True)
    next_slot_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "límite de peticiones"
        verbose_name_plural = "límites de peticiones"

    def __str__(self) -> str:
        return f"{self.key}: {self.next_slot_at}"


# The breaker is one row: every reader and writer goes through this key.
BREAKER_PK = 1


class Breaker(models.Model):
    """Circuit breaker over repeated `blocked` answers, plus the console's manual pause. One row (pk=BREAKER_PK)."""

    class State(models.TextChoices):
        CLOSED = "closed", "Cerrado"
        OPEN = "open", "Abierto"
        HALF_OPEN = "half_open", "Prueba"

    state = models.CharField(max_length=10, choices=State.choices, default=State.CLOSED)
    consecutive_blocks = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_until = models.DateTimeField(null=True, blank=True)
    cooldown_s = models.FloatField(default=0)
    paused = models.BooleanField("pausado a mano", default=False)
    paused_by = models.CharField(max_length=254, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "interruptor"
        verbose_name_plural = "interruptores"

    def __str__(self) -> str:
        return "pausado" if self.paused else self.state


class LookupTicket(models.Model):
    """A permit for one Django-Q2 `lookup_next` task. At most LOOKUP_DISPATCH_DEPTH exist; a task whose ticket is gone
    (duplicate or late delivery) does nothing."""

    created_at = models.DateTimeField(auto_now_add=True)
    # host:pid of the process that created it. One that died between creating the ticket and enqueueing its task
    # leaves a ticket no task will ever start: the reaper drops it at once instead of after the broker's retry.
    created_by = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"ticket {self.pk}"


class AlertState(models.Model):
    """What on-call was last told about an alert (one row per alert key: error_rate, stall, page_changed, canary)."""

    key = models.CharField(max_length=50, primary_key=True)
    firing = models.BooleanField(default=False)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_rate = models.FloatField(default=0)
    last_attempts = models.PositiveIntegerField(default=0)
    # What the latest check saw, for the console's alerts panel (figures, a link to a snapshot; never a cedula).
    detail = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key}: {'firing' if self.firing else 'ok'}"
