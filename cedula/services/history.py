"""The history of changes: one CedulaChange per final answer that differs from the row's previous final answer,
written inside the outcome's transaction (cedula.services.outcomes calls these)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import structlog
from django.utils import timezone

from cedula import selectors
from cedula.changes import Answer, detect_change
from cedula.models import FINAL_STATUSES, CedulaChange, CedulaInfo, LookupAttempt, Status
from cedula.normalize import mask_cedula

if TYPE_CHECKING:
    from ops.accounts.models import User

logger = structlog.get_logger(__name__)


def previous_final_answer(info: CedulaInfo) -> Answer | None:
    """The row's last final answer, read before a new one overwrites it. A row in error still holds the fields of
    its last final answer (errors never touch them); its status then comes from the last final attempt."""
    if info.status in FINAL_STATUSES:
        return Answer.of(info)
    if info.status == Status.ERROR:
        outcome = (
            LookupAttempt.objects.filter(cedula_id=info.pk, outcome__in=FINAL_STATUSES)
            .order_by("-started_at", "-id")
            .values_list("outcome", flat=True)
            .first()
        )
        if outcome is not None:
            answer = Answer.of(info, status=outcome)
            # A row reset by staff since that attempt has blank fields: it forgot the answer (no change to report).
            if outcome == Status.ACTIVE and not (answer.municipio or answer.puesto):
                return None
            if outcome == Status.CANCELLED and not answer.novedad:
                return None
            return answer
    return None  # never answered, or reset by staff (which forgets the answer)


def change_record(
    *, info: CedulaInfo, previous: Answer | None, new: Answer, attempt: LookupAttempt | None, now: dt.datetime
) -> CedulaChange | None:
    """One CedulaChange when `new` differs from `previous` (call inside the outcome's transaction)."""
    change = detect_change(previous, new)
    if change is None:
        return None
    row = CedulaChange.objects.create(
        cedula=info,
        changed_at=now,
        attempt=attempt,
        import_batch_id=info.import_batch_id,
        kind=change.kind,
        old_status=change.old_status,
        new_status=change.new_status,
        old_values=change.old_values,
        new_values=change.new_values,
    )
    logger.info(
        "cedula_changed",
        cedula=mask_cedula(info.cedula),
        cedula_id=info.pk,
        kind=change.kind,
        fields=list(change.changed_fields),
        old_status=change.old_status,
        new_status=change.new_status,
    )
    return row


# --- Public side ---------------------------------------------------------------------------------------------------


def cedula_owner_visit(*, user: User, now: dt.datetime | None = None) -> CedulaChange | None:
    """The person opened their page: the newest change of their voting place since their previous visit (None when
    there is none), and this visit is remembered."""
    now = now or timezone.now()
    info = selectors.cedula_for_user(user=user)
    if info is None:
        return None
    since = info.owner_seen_at or user.date_joined
    change = selectors.place_change_since(info=info, since=since)
    CedulaInfo.objects.filter(pk=info.pk).update(owner_seen_at=now)
    return change
