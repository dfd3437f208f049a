"""The queue row (CedulaInfo) and its history: its choices, import batches and their events, lookup attempts and
changes of answer. The queue's model is described in cedula/models/__init__.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cedula.querysets import CedulaInfoQuerySet
from cedula.registry.sources import SOURCES

# The console's one date-time format (cedula/display.py shows the same): Bogotá time, with seconds.
from cedula.staff_time import STAFF_DATETIME as _STAFF_DATETIME  # noqa: E402


class Status(models.TextChoices):
    PENDING = "pending", "Pendiente"
    ACTIVE = "active", "Vigente"
    CANCELLED = "cancelled", "Cancelada"
    NOT_FOUND = "not_found", "No encontrada"
    ERROR = "error", "Error"
    # Never looked up, and its lookup was cancelled by an operator: not pending work, not in progress.
    WITHDRAWN = "withdrawn", "Sin consultar (cancelada por el operador)"


FINAL_STATUSES = (Status.ACTIVE, Status.CANCELLED, Status.NOT_FOUND)


class Source(models.TextChoices):
    REGISTRATION = "registration", "Registro"
    IMPORT = "import", "Importación"
    ADMIN = "admin", "Consola"
    REFRESH = "refresh", "Actualización"


class Priority(models.IntegerChoices):
    # Higher runs first: a person waiting on a page beats a staff retry beats bulk work beats re-validation.
    REVALIDATION = 5, "Revalidación"
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
        settings.AUTH_USER_MODEL,
        verbose_name="creada por",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_batches",
    )
    created_at = models.DateTimeField("creada", auto_now_add=True, db_index=True)
    file_name = models.CharField("archivo", max_length=255)
    total_rows = models.PositiveIntegerField("filas", default=0)
    new_rows = models.PositiveIntegerField("nuevas", default=0)
    existing_rows = models.PositiveIntegerField("ya conocidas", default=0)
    requeued_rows = models.PositiveIntegerField("reencoladas", default=0)
    duplicate_rows = models.PositiveIntegerField("duplicadas en el archivo", default=0)
    invalid_rows = models.PositiveIntegerField("inválidas", default=0)
    # Set while an operator holds the batch: its queued rows are taken out of the queue (CedulaInfo.held).
    paused_at = models.DateTimeField("en pausa desde", null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="en pausa por",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "importación"
        verbose_name_plural = "importaciones"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({timezone.localtime(self.created_at):{_STAFF_DATETIME}})"

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class BatchEvent(models.Model):
    """Who did what to a batch, and to how many rows (the batch page's history)."""

    class Action(models.TextChoices):
        RETRY_ERRORS = "retry_errors", "Reintentar las fallidas"
        PAUSE = "pause", "Pausar"
        RESUME = "resume", "Reanudar"
        MOVE_AHEAD = "move_ahead", "Adelantar"
        MOVE_BEHIND = "move_behind", "Atrasar"
        CANCEL = "cancel", "Cancelar pendientes"
        EXPORT = "export", "Exportar"

    batch = models.ForeignKey(ImportBatch, verbose_name="importación", on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField("fecha", auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="por", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField("acción", max_length=20, choices=Action.choices)
    rows = models.PositiveIntegerField("filas", default=0)

    class Meta:
        verbose_name = "acción sobre una importación"
        verbose_name_plural = "acciones sobre importaciones"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.rows})"


class CedulaInfo(models.Model):
    cedula = models.CharField("cédula", max_length=10, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="usuario",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cedula_info",
    )
    status = models.CharField("estado", max_length=16, choices=Status.choices, default=Status.PENDING)
    source = models.CharField("origen", max_length=16, choices=Source.choices, default=Source.ADMIN)
    priority = models.PositiveSmallIntegerField("prioridad", choices=Priority.choices, default=Priority.BULK)
    import_batch = models.ForeignKey(
        ImportBatch,
        verbose_name="importación",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cedulas",
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
    # The last final answer differed from the one before it (a CedulaChange row was written for it).
    changed_at_last_check = models.BooleanField("cambió en la última consulta", default=False)
    # When the person who owns the row last opened their page: "your voting place changed since your last visit".
    owner_seen_at = models.DateTimeField("última visita del titular", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("intentos en el ciclo", default=0)

    next_attempt_at = models.DateTimeField("próximo intento", null=True, blank=True)
    claimed_at = models.DateTimeField("tomada", null=True, blank=True)
    claim_token = models.CharField("ficha de la reserva", max_length=32, blank=True)
    claimed_by = models.CharField("tomada por", max_length=100, blank=True)
    # Taken out of the queue because its batch is paused; resuming the batch queues it again. db_default: raw
    # inserts (the import's INSERT ... SELECT, the benches) need not name it.
    held = models.BooleanField("en pausa", default=False, db_default=False)
    # Staff asked for this row: an import named it (new or already known) or the console created it. It outlives
    # its registered owner's account (unlinked, not deleted) and keeps so whatever later cycles set `source` to.
    staff_listed = models.BooleanField("pedida por el personal", default=False, db_default=False)

    created_at = models.DateTimeField("creada", auto_now_add=True)
    updated_at = models.DateTimeField("actualizada", auto_now=True)
    objects = CedulaInfoQuerySet.as_manager()  # the queue predicates: cedula.querysets

    class Meta:
        verbose_name = "cédula"
        verbose_name_plural = "cédulas"
        permissions = [
            ("import_cedulas", "Puede importar cédulas"),
            ("export_cedulas", "Puede exportar cédulas"),
            ("queue_lookups", "Puede encolar, reintentar y reiniciar consultas"),
            ("pause_lookups", "Puede pausar y reanudar las consultas"),
            ("probe_gate", "Puede probar ahora si el registro o el resolvedor volvieron"),
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
            # The dashboard's cards count a queued row as queued, not under its last answer: queued rows per
            # status, read from an index holding only the waiting rows.
            models.Index(
                fields=["status"], name="cedula_waiting_status_idx", condition=Q(next_attempt_at__isnull=False)
            ),
            # Rows waiting for a retry (an attempt of this cycle failed), due or not: few, so a tiny index.
            models.Index(
                fields=["next_attempt_at"],
                name="cedula_retry_idx",
                condition=Q(next_attempt_at__isnull=False, claimed_at__isnull=True, attempts__gt=0),
            ),
            models.Index(fields=["status", "-updated_at"], name="cedula_status_idx"),
            # Narrow: the dashboard's per-status counts read only this.
            models.Index(fields=["status"], name="cedula_status_only_idx"),
            # The batch page reads everything it counts from this one index (no table rows): rows by status and
            # error kind, and which are queued, held by a worker or held by a paused batch.
            models.Index(
                fields=["import_batch", "status", "error_kind", "held", "next_attempt_at", "claimed_at"],
                name="cedula_batch_page_idx",
            ),
            # The batch's last queued row in queue order (where its ETA ends).
            models.Index(
                fields=["import_batch", "priority", "next_attempt_at", "id"],
                name="cedula_batch_queue_idx",
                condition=Q(next_attempt_at__isnull=False, claimed_at__isnull=True),
            ),
            models.Index(fields=["error_kind"], name="cedula_error_kind_idx"),
            models.Index(fields=["source"], name="cedula_source_idx"),
            models.Index(fields=["departamento"], name="cedula_departamento_idx"),
            models.Index(fields=["last_checked"], name="cedula_last_checked_idx"),
            models.Index(fields=["-updated_at", "-id"], name="cedula_updated_idx"),
            # Re-validation picks idle rows, oldest answer first. Only idle rows are in it; the status is checked on
            # the row (SQLite cannot match a partial index condition against bound parameters such as an IN list).
            models.Index(
                fields=["last_checked", "id"],
                name="cedula_revalidate_idx",
                condition=Q(next_attempt_at__isnull=True, claimed_at__isnull=True),
            ),
            models.Index(
                fields=["changed_at_last_check"], name="cedula_changed_idx", condition=Q(changed_at_last_check=True)
            ),
        ]

    def __str__(self) -> str:
        # Grouped as people write it (1.098.765.432): titles and links show this; storage and search stay digits.
        return f"{int(self.cedula):,}".replace(",", ".") if self.cedula.isdigit() else self.cedula

    @property
    def is_queued(self) -> bool:
        return self.next_attempt_at is not None or self.claimed_at is not None


# The registry's pages an attempt can have asked (cedula.registry.sources), as staff read them.
SOURCE_CHOICES = [(name, name) for name in SOURCES]


class LookupAttempt(models.Model):
    """One request to the registry. The structured failure log of the console."""

    class Outcome(models.TextChoices):
        ACTIVE = "active", "Vigente"
        CANCELLED = "cancelled", "Cancelada"
        NOT_FOUND = "not_found", "No encontrada"
        ERROR = "error", "Error"

    cedula = models.ForeignKey(
        CedulaInfo, verbose_name="cédula", on_delete=models.CASCADE, related_name="lookup_attempts"
    )
    started_at = models.DateTimeField("inicio", db_index=True)
    duration_ms = models.PositiveIntegerField("duración (ms)", default=0)
    # Of duration_ms, the wait for the throttle's request slot: the politeness gap, not the lookup's own time.
    wait_ms = models.PositiveIntegerField("espera de turno (ms)", default=0, db_default=0)
    outcome = models.CharField("resultado", max_length=16, choices=Outcome.choices)
    error_kind = models.CharField("tipo de error", max_length=20, choices=ErrorKind.choices, blank=True)
    message = models.TextField("mensaje", blank=True)
    attempt = models.PositiveSmallIntegerField("intento", default=1)
    worker_pid = models.PositiveIntegerField("pid", null=True, blank=True)
    task_id = models.CharField("tarea", max_length=64, blank=True)
    # Redacted HTML of a non-final answer (digits masked, size-capped); never kept for successful lookups.
    snapshot = models.TextField("captura", blank=True)
    # Elements of the registry page found by a fallback way ("enviar:text,tipo:name"): the page is drifting.
    selector_fallbacks = models.CharField("selectores de respaldo", max_length=200, blank=True)
    # Captcha solves this attempt accounts for (LookupReport.captcha): solved are paid for, used were sent, refused
    # the page rejected, wasted expired or were dropped unused. Spend per batch and per day sums these.
    captcha_solved = models.PositiveSmallIntegerField("captchas resueltos", default=0, db_default=0)
    captcha_used = models.PositiveSmallIntegerField("captchas usados", default=0, db_default=0)
    captcha_refused = models.PositiveSmallIntegerField("captchas rechazados", default=0, db_default=0)
    captcha_wasted = models.PositiveSmallIntegerField("captchas perdidos", default=0, db_default=0)
    # A cedula.registry.failures.Cause when the system, not the row, failed: the attempt spent none of its retries.
    # db_default: rows written by code that predates the column (a rolling deploy, raw SQL) still insert.
    cause = models.CharField("causa del sistema", max_length=20, blank=True, default="", db_default="")
    # The registry's page that answered (cedula.registry.sources: wsp, consultacenso); "" before sources existed.
    source = models.CharField("fuente", max_length=20, choices=SOURCE_CHOICES, blank=True, default="", db_default="")

    class Meta:
        verbose_name = "intento de consulta"
        verbose_name_plural = "intentos de consulta"
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["outcome", "started_at"], name="attempt_outcome_idx"),
            models.Index(fields=["error_kind", "started_at"], name="attempt_error_kind_idx"),
            models.Index(fields=["cedula", "-started_at"], name="attempt_cedula_idx"),
            # The Django-Q2 task pages name the cedula each lookup task looked up (cedula/admin/django_q.py).
            models.Index(fields=["task_id"], name="attempt_task_idx", condition=~models.Q(task_id="")),
            # The attempts list's "fuente" filter and the per-source page-changed read (cedula.services.sources).
            models.Index(fields=["source", "started_at"], name="attempt_source_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} · {timezone.localtime(self.started_at):{_STAFF_DATETIME}}"


class CedulaChange(models.Model):
    """A final answer that differs from the row's previous final answer: what changed, from what, to what."""

    class Kind(models.TextChoices):
        STATUS = "status", "Estado"
        PLACE = "place", "Lugar de votación"
        CANCELLATION = "cancellation", "Datos de la novedad"

    cedula = models.ForeignKey(CedulaInfo, verbose_name="cédula", on_delete=models.CASCADE, related_name="changes")
    changed_at = models.DateTimeField("fecha")
    attempt = models.ForeignKey(
        LookupAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes", verbose_name="consulta"
    )
    # Copied from the row when the change is written: the console filters changes by batch without a join.
    import_batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="changes",
        verbose_name="importación",
    )
    kind = models.CharField("tipo", max_length=16, choices=Kind.choices)
    old_status = models.CharField("estado anterior", max_length=16, choices=Status.choices)
    new_status = models.CharField("estado nuevo", max_length=16, choices=Status.choices)
    # Field name -> value (text; dates as ISO), only the fields that differ.
    old_values = models.JSONField("valores anteriores", default=dict)
    new_values = models.JSONField("valores nuevos", default=dict)

    class Meta:
        verbose_name = "cambio"
        verbose_name_plural = "cambios"
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["-changed_at", "-id"], name="change_changed_idx"),
            models.Index(fields=["kind", "changed_at"], name="change_kind_idx"),
            models.Index(fields=["import_batch", "-changed_at"], name="change_batch_idx"),
            models.Index(fields=["cedula", "-changed_at"], name="change_cedula_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {timezone.localtime(self.changed_at):{_STAFF_DATETIME}}"
