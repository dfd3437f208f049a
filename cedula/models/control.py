"""The pipeline's control rows: re-validation runs, the shared throttle, the gate (breaker), the captcha balance,
dispatch tickets and what on-call was last told about each alert."""

from __future__ import annotations

from django.db import models

from cedula.staff_time import format_staff_time


class RevalidationRun(models.Model):
    """One re-validation request (schedule, command or console): the daily budget counts what these queued."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Programada"
        COMMAND = "command", "Comando"
        CONSOLE = "console", "Consola"

    ran_at = models.DateTimeField("fecha", db_index=True)
    trigger = models.CharField("origen", max_length=16, choices=Trigger.choices)
    requested_by = models.CharField("pedida por", max_length=254, blank=True)
    queued = models.PositiveIntegerField("encoladas", default=0)

    class Meta:
        verbose_name = "revalidación"
        verbose_name_plural = "revalidaciones"

    def __str__(self) -> str:
        return f"{self.trigger} {self.queued} @ {format_staff_time(self.ran_at)}"


# The throttle is one row per deployment, whatever its hosts: every reader and writer goes through this key, and no
# setting splits it (docs/scaling.md: more hosts buy availability and web capacity, not more lookups).
THROTTLE_PK = "registry"


class Throttle(models.Model):
    """The gap between requests to the registry, shared by every process on every host (one row, THROTTLE_PK)."""

    key = models.CharField(max_length=50, primary_key=True)
    next_slot_at = models.DateTimeField(null=True, blank=True)
    # When the last request left for the registry: the slot a POST takes as it leaves (services.claims).
    last_request_at = models.DateTimeField("última petición al registro", null=True, blank=True)

    class Meta:
        verbose_name = "límite de peticiones"
        verbose_name_plural = "límites de peticiones"

    def __str__(self) -> str:
        return f"{self.key}: {self.next_slot_at}"


# The breaker is one row: every reader and writer goes through this key.
BREAKER_PK = 1


class Breaker(models.Model):
    """The gate: open after consecutive system failures (cedula.registry.failures.Cause), with its cause and since
    when, plus the console's manual pause. One row (pk=BREAKER_PK)."""

    class State(models.TextChoices):
        CLOSED = "closed", "Cerrado"
        OPEN = "open", "Abierto"
        HALF_OPEN = "half_open", "Prueba"

    state = models.CharField(max_length=10, choices=State.choices, default=State.CLOSED)
    # Consecutive system failures (the name is from when only `blocked` counted).
    consecutive_blocks = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_until = models.DateTimeField(null=True, blank=True)
    cooldown_s = models.FloatField(default=0)
    # The new columns have database defaults: a process still running the previous release keeps writing the row.
    cause = models.CharField("causa", max_length=20, blank=True, default="", db_default="")  # a failures.Cause
    cause_since = models.DateTimeField("causa desde", null=True, blank=True)  # first failure of this outage
    # The cause of the latest counted failure.
    last_failure_cause = models.CharField(max_length=20, blank=True, default="", db_default="")
    # POST timeouts in a row on different rows, with no answer between them: the registry stopped answering POSTs.
    consecutive_timeouts = models.PositiveIntegerField(default=0, db_default=0)
    last_timeout_cedula_id = models.BigIntegerField(null=True, blank=True)
    probe_requested = models.BooleanField("prueba pedida", default=False, db_default=False)  # "Probar ahora"
    # The first attempt of the current streak of system failures (closed gate): an answer that breaks the streak
    # charges those attempts to their rows after all (cedula.services.streak).
    streak_attempt_id = models.BigIntegerField(null=True, blank=True)
    # Held for one probe that decides whether a lone row's system failure was the system's (not an outage yet).
    confirming = models.BooleanField(default=False, db_default=False)
    probes = models.PositiveIntegerField("pruebas", default=0, db_default=0)  # probes run during this outage
    last_probe_at = models.DateTimeField("última prueba", null=True, blank=True)
    # Which solver settings were in force when the gate opened for a cause only the configuration can clear.
    settings_fingerprint = models.CharField(max_length=64, blank=True, default="", db_default="")
    paused = models.BooleanField("pausado a mano", default=False)
    paused_by = models.CharField(max_length=254, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "interruptor"
        verbose_name_plural = "interruptores"

    def __str__(self) -> str:
        return "pausado" if self.paused else self.state


class CaptchaBalance(models.Model):
    """The captcha solver's balance as last read by the schedule (one row, pk=1): the runway and its alert use it."""

    solver = models.CharField(max_length=32, blank=True)  # "" while no solver is configured
    balance_usd = models.FloatField(null=True, blank=True)  # the last good reading
    read_at = models.DateTimeField(null=True, blank=True)  # when balance_usd was read
    checked_at = models.DateTimeField(null=True, blank=True)  # the last try, good or not
    error_code = models.CharField(max_length=64, blank=True)  # the last try's failure (ERROR_KEY_DOES_NOT_EXIST ...)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "saldo del resolvedor de captcha"
        verbose_name_plural = "saldos del resolvedor de captcha"

    def __str__(self) -> str:
        return f"{self.solver or 'sin resolvedor'}: {self.balance_usd}"


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


# Which source is in use is one row for the deployment: every reader and writer goes through this key.
SOURCE_PK = 1


class SourceInUse(models.Model):
    """Which of the registry's pages the worker asks (REGISTRY_SOURCES; cedula.services.sources), why, and when the
    first one is probed again to move back to it. One row (pk=SOURCE_PK)."""

    class Reason(models.TextChoices):
        FIRST = "first", "Es la primera fuente configurada"
        PAGE_CHANGED = "page_changed", "La página anterior cambió de forma"
        DOWN = "down", "La página anterior no carga"
        RESTORED = "restored", "La primera fuente volvió a responder"
        SETTINGS = "settings", "Cambió la configuración de fuentes"

    current = models.CharField("fuente en uso", max_length=20, default="wsp")
    reason = models.CharField("motivo", max_length=20, choices=Reason.choices, default=Reason.FIRST)
    detail = models.CharField("detalle", max_length=300, blank=True, default="")
    since = models.DateTimeField("desde", null=True, blank=True)
    next_probe_at = models.DateTimeField("próxima prueba", null=True, blank=True)
    probe_interval_s = models.FloatField(default=0)
    last_probe_at = models.DateTimeField("última prueba", null=True, blank=True)
    last_probe_said = models.CharField("resultado de la última prueba", max_length=300, blank=True, default="")
    switches = models.PositiveIntegerField("cambios", default=0)

    class Meta:
        verbose_name = "fuente en uso"
        verbose_name_plural = "fuentes en uso"

    def __str__(self) -> str:
        return f"{self.current} ({self.reason})"
