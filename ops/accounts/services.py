"""Writes about accounts: the registration throttle, a person's own "Actualizar datos" (its allowance is in
ops.accounts.selectors, with RefreshRequest), staff lockouts, and a person deleting their own account. Writes about
cedulas in general live in cedula.services."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass

import structlog
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cedula import selectors as cedula_selectors
from cedula import services as cedula_services
from cedula.models import CedulaInfo, Priority, Source
from cedula.normalize import mask_cedula
from cedula.services.audit import audit_record
from ops.accounts import selectors
from ops.accounts.models import RefreshRequest, User

logger = structlog.get_logger(__name__)

REGISTRATION_WINDOW_S = 3600


@dataclass(frozen=True)
class RegistrationThrottle:
    allowed: bool
    retry_at: dt.datetime | None  # when the next attempt from this address will be accepted (None: now)


def _ip_key(ip: str) -> str:
    # The address itself never reaches the cache directory or a log line.
    return "public:registration:" + hashlib.sha256(ip.encode()).hexdigest()[:32]


def registration_attempt(*, ip: str) -> RegistrationThrottle:
    """Count one registration attempt (a POST of the form) from `ip`; refuse past REGISTRATION_MAX_PER_IP_PER_HOUR
    in a sliding hour. Failed attempts count too: the form answers "this cedula is already registered", and that must
    not be a free oracle. A refused attempt is not counted, so the block lifts an hour after the earliest counted one.

    The shared cache (file-based or Redis) is enough here: losing it only forgets a short-lived counter.
    """
    limit = settings.REGISTRATION_MAX_PER_IP_PER_HOUR
    now = time.time()
    key = _ip_key(ip or "unknown")
    recent = sorted((t for t in cache.get(key, []) if t > now - REGISTRATION_WINDOW_S), reverse=True)
    if len(recent) >= limit:
        retry_at = (recent[limit - 1] + REGISTRATION_WINDOW_S) if limit > 0 else None
        logger.warning("registration_throttled", ip_hash=key[-12:], attempts=len(recent))
        return RegistrationThrottle(
            allowed=False,
            retry_at=dt.datetime.fromtimestamp(retry_at, tz=dt.UTC) if retry_at else None,
        )
    cache.set(key, [now, *recent], timeout=REGISTRATION_WINDOW_S)
    return RegistrationThrottle(allowed=True, retry_at=None)


# --- A person refreshes their own lookup -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshDecision:
    accepted: bool
    # "accepted", or why not: "checking" | "hourly_limit" | "daily_limit" | "no_cedula" | "disabled"
    reason: str
    next_allowed_at: dt.datetime | None
    info: CedulaInfo | None = None


def cedula_user_refresh(*, user: User) -> RefreshDecision:
    """A person pressed "Actualizar datos": queue a fresh lookup of their own cedula at interactive priority, within
    the per-hour / per-day limits and never while a lookup is already in progress. Acts only on `user`'s own row."""
    now = timezone.now()
    with transaction.atomic():
        # One decision at a time per person (row lock; SQLite's IMMEDIATE transactions serialize anyway): two quick
        # clicks must not both pass the limit check.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        allowance = selectors.refresh_allowance(user=user, now=now)
        if not allowance.allowed:
            logger.info(
                "refresh_refused",
                user_id=user.pk,
                reason=allowance.reason,
                next_allowed_at=allowance.next_allowed_at.isoformat() if allowance.next_allowed_at else None,
            )
            return RefreshDecision(accepted=False, reason=allowance.reason, next_allowed_at=allowance.next_allowed_at)
        current = cedula_selectors.cedula_for_user(user=user)
        # The row the person sees is the one refreshed (staff may have corrected the account's cedula since).
        cedula = current.cedula if current is not None else user.cedula or ""  # no cedula: refused above
        RefreshRequest.objects.create(user=user, requested_at=now)
        info = cedula_services.cedula_request_lookup(
            cedula=cedula, priority=Priority.INTERACTIVE, source=Source.REFRESH, user=user
        )
        # cedula_request_lookup keeps an existing row's source; this cycle was asked for by its owner.
        CedulaInfo.objects.filter(pk=info.pk).update(source=Source.REFRESH)
        info.source = Source.REFRESH
    after = selectors.refresh_allowance(user=user, now=now)
    logger.info("refresh_requested", user_id=user.pk, cedula=mask_cedula(info.cedula), cedula_id=info.pk)
    return RefreshDecision(accepted=True, reason="accepted", next_allowed_at=after.next_allowed_at, info=info)


# --- staff login lockout ------------------------------------------------------------------------------------------


def login_unlock(*, usernames: set[str], ips: set[str], actor: User | None, ip: str | None) -> int:
    """Lift the lockout of these accounts and addresses (a superuser, from "Bloqueos de ingreso"); audited with who
    did it from which address."""
    query = Q(pk__in=[])
    if usernames:
        query |= Q(username__in=usernames)
    if ips:
        query |= Q(ip_address__in=ips)
    deleted = AccessAttempt.objects.filter(query).delete()[0]
    audit_record(
        actor=actor,
        ip=ip,
        action="auth.unlock",
        target=", ".join(sorted(usernames | ips))[:255],
        count=deleted,
        details={"usernames": sorted(usernames), "ips": sorted(ips)},
    )
    logger.info("login_unlocked", accounts=len(usernames), addresses=len(ips), attempts=deleted)
    return deleted


# --- "Eliminar mi cuenta" -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountDeletion:
    cedula_row: str  # "deleted" | "unlinked" | "none"


def account_delete(*, user: User, ip: str | None = None) -> AccountDeletion:
    """A person deletes their own account (audited with who and from which address: `ip`). Their cedula row
    goes with it, unless staff hold it (an import named it, new or already known, or the console created it:
    `staff_listed`): then it stays for staff, unlinked from the person.
    Attempts of a deleted row go with it (cascade); the refresh requests go with the user."""
    with transaction.atomic():
        row = CedulaInfo.objects.select_for_update().filter(user=user).first()
        if row is None:
            outcome = "none"
        elif row.staff_listed:  # every imported row is (import_sql, migration 0011)
            row.user = None
            row.save(update_fields=["user", "updated_at"])
            outcome = "unlinked"
        else:
            row.delete()
            outcome = "deleted"
        user_id = user.pk
        # Who acted and from where (the account's email stays on the record after the account goes; the actor link
        # is cleared with it); no cedula in the record.
        audit_record(
            actor=user,
            ip=ip,
            action="account.self_delete",
            target=f"usuario #{user_id}",
            details={
                "cedula_row": outcome,
                "cedula_row_id": row.pk if outcome == "unlinked" and row else None,
                "staff": user.is_staff,
            },
        )
        user.delete()
    logger.info("account_deleted", user_id=user_id, cedula_row=outcome)
    return AccountDeletion(cedula_row=outcome)


# --- retention ------------------------------------------------------------------------------------------------------

# The public refresh limits look back one day at most (REFRESH_MAX_PER_DAY): older requests are no use to anyone.
REFRESH_REQUESTS_KEPT = dt.timedelta(days=2)


def refresh_requests_purge(*, now: dt.datetime | None = None, batch_size: int | None = None) -> int:
    """Delete refresh requests past every window that reads them, in short batches (scheduled daily)."""
    now = now or timezone.now()
    cutoff = now - REFRESH_REQUESTS_KEPT
    deleted, batches = cedula_services.in_batches(
        lambda: RefreshRequest.objects.order_by().filter(requested_at__lt=cutoff),
        lambda ids: RefreshRequest.objects.filter(pk__in=ids).delete()[0],
        batch_size=batch_size or settings.RETENTION_BATCH_SIZE,
    )
    logger.info("refresh_requests_purged", deleted=deleted, batches=batches)
    return deleted
