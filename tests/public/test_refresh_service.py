"""cedula_user_refresh: the write behind "Actualizar datos"."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from structlog.testing import capture_logs

from cedula.models import CedulaInfo, Priority, Source, Status
from ops.accounts.models import RefreshRequest
from ops.accounts.services import cedula_user_refresh
from tests.helpers.public import ACTIVE_FIELDS, settle

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 3, 14, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def settled(person):
    with time_machine.travel(NOON - dt.timedelta(days=2), tick=False):
        return settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)


def test_a_refresh_queues_the_own_row_at_interactive_priority_with_source_refresh(person, settled):
    CedulaInfo.objects.filter(pk=settled.pk).update(priority=Priority.BULK, source=Source.IMPORT)

    with time_machine.travel(NOON, tick=False):
        decision = cedula_user_refresh(user=person)

    settled.refresh_from_db()
    assert decision.accepted
    assert settled.next_attempt_at == NOON
    assert settled.priority == Priority.INTERACTIVE
    assert settled.source == Source.REFRESH
    assert settled.status == Status.ACTIVE  # the last answer stays until the new one arrives
    assert list(RefreshRequest.objects.filter(user=person).values_list("requested_at", flat=True)) == [NOON]
    assert decision.next_allowed_at == NOON + dt.timedelta(hours=1)


def test_a_second_refresh_within_the_hour_is_refused_and_changes_nothing(person, settled):
    with time_machine.travel(NOON, tick=False):
        cedula_user_refresh(user=person)
    settle(settled, Status.ACTIVE, checked_at=NOON, **ACTIVE_FIELDS)  # the lookup finished

    with time_machine.travel(NOON + dt.timedelta(minutes=30), tick=False):
        decision = cedula_user_refresh(user=person)

    settled.refresh_from_db()
    assert not decision.accepted
    assert decision.reason == "hourly_limit"
    assert decision.next_allowed_at == NOON + dt.timedelta(hours=1)
    assert settled.next_attempt_at is None
    assert RefreshRequest.objects.filter(user=person).count() == 1


def test_a_refresh_is_refused_while_the_lookup_is_still_running(person):
    decision = cedula_user_refresh(user=person)  # registration's lookup is still queued

    assert not decision.accepted
    assert decision.reason == "checking"
    assert not RefreshRequest.objects.exists()


def test_a_refresh_touches_only_the_requesting_users_row(person, settled, user_factory):
    other = user_factory(cedula="80111222")
    other_row = settle(CedulaInfo.objects.get(user=other), Status.ACTIVE, checked_at=NOON, **ACTIVE_FIELDS)

    with time_machine.travel(NOON, tick=False):
        cedula_user_refresh(user=person)

    other_row.refresh_from_db()
    assert other_row.next_attempt_at is None
    assert other_row.priority == Priority.INTERACTIVE  # unchanged from its own registration
    assert other_row.source == Source.REGISTRATION
    assert not RefreshRequest.objects.filter(user=other).exists()


def test_a_person_whose_row_is_missing_gets_one_on_refresh(person):
    CedulaInfo.objects.filter(user=person).delete()

    decision = cedula_user_refresh(user=person)

    assert decision.accepted
    info = CedulaInfo.objects.get(user=person)
    assert (info.cedula, info.priority, info.source) == ("52123456", Priority.INTERACTIVE, Source.REFRESH)


def test_refresh_logs_never_carry_the_full_cedula(person, settled):
    with capture_logs() as logs:
        cedula_user_refresh(user=person)
        cedula_user_refresh(user=person)

    events = [e["event"] for e in logs]
    assert "refresh_requested" in events
    assert "refresh_refused" in events
    assert "52123456" not in repr(logs)
    assert any(e.get("cedula") == "***3456" for e in logs if e["event"] == "refresh_requested")
