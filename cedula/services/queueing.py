"""Requesting lookups: what people and staff ask for. A row is queued when CedulaInfo.next_attempt_at is set; each
write here commits, then tops the broker up (cedula.services.dispatch.lookups_dispatch). Staff pause and resume the
queue here too (the breaker's manual switch)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog
from django.db import transaction
from django.utils import timezone

from cedula.models import Breaker, CedulaInfo, ImportBatch, Priority, Source, Status
from cedula.normalize import mask_cedula, normalize_cedula
from cedula.services.dispatch import lookups_dispatch
from cedula.services.gate import breaker_locked

if TYPE_CHECKING:  # types only: the domain never imports the accounts app at run time
    from ops.accounts.models import User

logger = structlog.get_logger(__name__)


# Rows asked for from these sources are the staff's (CedulaInfo.staff_listed): a registrant's account deletion
# unlinks them instead of deleting them.
STAFF_SOURCES = frozenset({Source.IMPORT, Source.ADMIN})


def cedula_request_lookup(
    *,
    cedula: str,
    priority: int,
    source: str,
    user: User | None = None,
    import_batch: ImportBatch | None = None,
) -> CedulaInfo:
    """Create the row when new and queue a lookup. Idempotent: a queued row keeps its place and may gain priority.

    Raises ValueError (with a message for people) when `cedula` is not a valid cedula.
    """
    digits = normalize_cedula(cedula)
    now = timezone.now()
    with transaction.atomic():
        info, created = CedulaInfo.objects.select_for_update().get_or_create(
            cedula=digits,
            defaults={
                "source": source,
                "priority": priority,
                "next_attempt_at": now,
                "user": user,
                "import_batch": import_batch,
                "staff_listed": source in STAFF_SOURCES,
            },
        )
        if not created:
            fields = ["priority", "updated_at"]
            if source in STAFF_SOURCES and not info.staff_listed:
                info.staff_listed = True
                fields.append("staff_listed")
            if user is not None and info.user_id != user.pk:
                info.user = user
                fields.append("user")
            if info.claimed_at is None and info.next_attempt_at is None:
                # Idle: a fresh cycle of attempts.
                info.next_attempt_at = now
                info.attempts = 0
                info.priority = priority
                # Out of a paused batch or an operator's cancel: queued again, it is plain pending work.
                info.held = False
                fields += ["next_attempt_at", "attempts", "held"]
                if info.status == Status.WITHDRAWN:
                    info.status = Status.PENDING
                    fields.append("status")
            else:
                info.priority = max(info.priority, priority)
                if priority > Priority.BULK and info.next_attempt_at and info.next_attempt_at > now:
                    # Somebody is waiting: do not sit out a backoff that was meant for bulk work.
                    info.next_attempt_at = now
                    fields.append("next_attempt_at")
            info.save(update_fields=fields)
        transaction.on_commit(lookups_dispatch)
    logger.info(
        "lookup_requested",
        cedula=mask_cedula(digits),
        cedula_id=info.pk,
        priority=int(priority),
        source=source,
        created=created,
    )
    return info


def cedula_register_for_user(*, user: User) -> CedulaInfo:
    """A person registered with a cedula (or staff changed it): link (or create) its row and look it up ahead of
    bulk work. A row of the person's former cedula is unlinked, not deleted: it stays in the console."""
    if not user.cedula:
        raise ValueError("A user without a cedula has nothing to look up.")
    with transaction.atomic():
        CedulaInfo.objects.filter(user=user).exclude(cedula=user.cedula).update(user=None)
        return cedula_request_lookup(
            cedula=user.cedula or "", priority=Priority.INTERACTIVE, source=Source.REGISTRATION, user=user
        )


def user_cedula_is_linked(*, user: User) -> bool:
    return CedulaInfo.objects.filter(user=user, cedula=user.cedula).exists()


def cedulas_queue_now(*, ids: Iterable[int], priority: int = Priority.STAFF) -> int:
    """Queue lookups for the given rows (admin "queue now"): idle rows start a fresh cycle, queued rows move up."""
    ids = list(ids)
    now = timezone.now()
    with transaction.atomic():
        base = CedulaInfo.objects.filter(pk__in=ids)
        idle = base.idle().update(next_attempt_at=now, attempts=0, priority=priority, held=False, updated_at=now)
        base.in_queue().filter(status=Status.WITHDRAWN).update(status=Status.PENDING)
        moved = (
            base.in_queue().filter(priority__lt=priority).update(priority=priority, next_attempt_at=now, updated_at=now)
        )
        transaction.on_commit(lookups_dispatch)
    logger.info("lookups_queued", count=idle + moved, priority=int(priority))
    return idle + moved


# --- Pause and resume (the breaker's manual switch) ------------------------------------------------------------------


def breaker_pause(*, by: str, reason: str = "") -> Breaker:
    with transaction.atomic():
        breaker = breaker_locked()
        breaker.paused = True
        breaker.paused_by = by
        breaker.paused_at = timezone.now()
        breaker.pause_reason = reason[:255]
        breaker.save()
    logger.warning("lookups_paused", by=by, reason=reason)
    return breaker


def breaker_resume(*, by: str) -> Breaker:
    with transaction.atomic():
        breaker = breaker_locked()
        breaker.paused = False
        breaker.paused_by = by
        breaker.paused_at = timezone.now()
        breaker.pause_reason = ""
        breaker.save()
        transaction.on_commit(lookups_dispatch)
    logger.warning("lookups_resumed", by=by)
    return breaker
