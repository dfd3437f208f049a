"""The daily budget and quiet hours (Bogotá time): only interactive lookups run inside them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cedula import budget, selectors, services
from cedula.models import CedulaInfo, LookupAttempt, LookupTicket, Priority, Source, Status
from cedula.services import gate

BOGOTA = dt.timezone(dt.timedelta(hours=-5))
NIGHT = dt.datetime(2026, 3, 2, 23, 30, tzinfo=BOGOTA)  # inside 22-06
NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=BOGOTA)


# --- pure rules ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("22-06", dt.time(22), dt.time(6)),
        ("22:30-06:15", dt.time(22, 30), dt.time(6, 15)),
        (" 1 - 5 ", dt.time(1), dt.time(5)),
    ],
)
def test_quiet_hours_are_read_from_the_setting(text, start, end):
    assert budget.parse_quiet_hours(text) == budget.QuietHours(start=start, end=end)


@pytest.mark.parametrize("text", ["22", "25-06", "22-22", "noche", "22:61-06"])
def test_a_bad_quiet_hours_setting_is_refused(text):
    with pytest.raises(ValueError, match="REGISTRY_QUIET_HOURS"):
        budget.parse_quiet_hours(text)


def test_quiet_hours_that_cross_midnight_contain_the_night_only():
    quiet = budget.QuietHours(start=dt.time(22), end=dt.time(6))

    assert quiet.contains(NIGHT) and quiet.contains(NIGHT.replace(day=3, hour=5, minute=59))
    assert not quiet.contains(NOON) and not quiet.contains(NIGHT.replace(day=3, hour=6, minute=0))
    assert quiet.next_boundary(NIGHT) == dt.datetime(2026, 3, 3, 6, 0, tzinfo=BOGOTA)


def test_a_spent_budget_reopens_at_midnight_or_after_the_quiet_hours_that_follow():
    quiet = budget.QuietHours(start=dt.time(0), end=dt.time(6))

    reopens = budget.bulk_reopens_at(local=NOON, used_today=100, max_per_day=100, quiet=quiet)
    assert reopens == dt.datetime(2026, 3, 3, 6, 0, tzinfo=BOGOTA)
    assert budget.bulk_reopens_at(local=NOON, used_today=99, max_per_day=100, quiet=quiet) is None


# --- the gate in the claim -------------------------------------------------------------------------------------------


def _queue(priority=Priority.BULK, source=Source.IMPORT, cedula=None):
    kwargs = {"cedula": cedula} if cedula else {}
    from tests.helpers.factories import CedulaInfoFactory

    return CedulaInfoFactory(priority=priority, source=source, next_attempt_at=timezone.now(), **kwargs)


@pytest.mark.django_db
def test_in_quiet_hours_bulk_work_waits_and_a_registration_is_looked_up_at_once(settings, user_factory):
    settings.REGISTRY_QUIET_HOURS = "22-06"
    with time_machine.travel(NIGHT, tick=False):
        bulk = _queue()
        assert services.lookup_claim_next() is None
        assert services.seconds_until_claimable() is None  # nothing a ticket should wait for
        assert services.lookups_dispatch() == 0  # no ticket spins through the night

        person = user_factory(cedula="52123456")
        services.cedula_register_for_user(user=person)
        claim = services.lookup_claim_next()

        assert claim is not None and claim.cedula == "52123456"
        bulk.refresh_from_db()
        assert bulk.next_attempt_at is not None and bulk.claimed_at is None
        assert selectors.budget_state().in_quiet_hours


@pytest.mark.django_db
def test_bulk_work_runs_again_when_the_quiet_hours_end(settings):
    settings.REGISTRY_QUIET_HOURS = "22-06"
    with time_machine.travel(NIGHT, tick=False):
        bulk = _queue()
        assert services.lookup_claim_next() is None
    with time_machine.travel(dt.datetime(2026, 3, 3, 6, 0, 1, tzinfo=BOGOTA), tick=False):
        claim = services.lookup_claim_next()

    assert claim is not None and claim.cedula_id == bulk.pk


@pytest.mark.django_db
def test_past_the_daily_budget_only_interactive_lookups_run_until_midnight(settings, user_factory):
    settings.REGISTRY_MAX_PER_DAY = 3
    with time_machine.travel(NOON, tick=False):
        done = _queue()
        for minutes in (1, 2, 3):
            LookupAttempt.objects.create(
                cedula=done, started_at=timezone.now() - dt.timedelta(minutes=minutes), outcome="active"
            )
        # Yesterday's lookups do not count against today.
        LookupAttempt.objects.create(cedula=done, started_at=timezone.now() - dt.timedelta(hours=13), outcome="active")
        CedulaInfo.objects.filter(pk=done.pk).update(next_attempt_at=None, status=Status.ACTIVE)
        staff_retry = _queue(priority=Priority.STAFF)

        assert services.lookup_claim_next() is None
        state = selectors.budget_state()
        assert (state.used_today, state.bulk_allowed) == (3, False)
        assert state.bulk_reopens_at == dt.datetime(2026, 3, 3, 0, 0, tzinfo=BOGOTA)

        person = user_factory(cedula="79000111")
        services.cedula_register_for_user(user=person)
        claim = services.lookup_claim_next()
        assert claim is not None and claim.cedula == "79000111"

    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 0, 1, tzinfo=BOGOTA), tick=False):
        claim = services.lookup_claim_next()
    assert claim is not None and claim.cedula_id == staff_retry.pk


@pytest.mark.django_db
def test_the_budget_counts_lookups_in_flight(settings):
    settings.REGISTRY_MAX_PER_DAY = 1
    with time_machine.travel(NOON, tick=False):
        first, _second = _queue(), _queue()
        assert services.lookup_claim_next().cedula_id == first.pk

        assert services.lookup_claim_next() is None


@pytest.mark.django_db
def test_a_registration_on_the_public_site_is_looked_up_at_once_in_quiet_hours(settings, client: Client):
    settings.REGISTRY_QUIET_HOURS = "22-06"
    settings.REGISTRY_MAX_PER_DAY = 1
    with time_machine.travel(NIGHT, tick=False):
        _queue()
        LookupTicket.objects.all().delete()
        response = client.post(
            reverse("accounts:register"),
            {"email": "ana@example.com", "cedula": "1.234.567", "password1": "clave-segura-123",
             "password2": "clave-segura-123"},
        )  # fmt: skip
        claim = services.lookup_claim_next()

    assert response.status_code in (200, 302)
    assert claim is not None and claim.cedula == "1234567"


@pytest.mark.django_db
def test_the_dashboard_shows_the_budget_the_window_and_the_capacity(settings, admin_client):
    settings.REGISTRY_MAX_PER_DAY = 500
    settings.REGISTRY_QUIET_HOURS = "22-06"
    settings.REGISTRY_MIN_GAP_S = 5
    with time_machine.travel(NIGHT, tick=False):
        page = admin_client.get(reverse("admin:index")).content.decode()

    assert 'data-testid="budget-panel" data-bulk-allowed="0"' in page
    assert "0 de 500 consultas hoy" in page
    assert "22:00-06:00" in page and "Solo consultas de personas" in page
    assert "Capacidad para las estimaciones: 500 consultas al día" in page


@pytest.mark.django_db
def test_the_dashboard_and_the_gate_count_the_lookup_in_flight_alike(settings):
    # "Used today" has one definition: recorded attempts plus what a worker holds. With 2 recorded and 1 in flight
    # against a budget of 3, the gate holds bulk work back and the dashboard says the budget is spent: not "2 of 3".
    settings.REGISTRY_MAX_PER_DAY = 3
    with time_machine.travel(NOON, tick=False):
        done = _queue()
        for minutes in (1, 2):
            LookupAttempt.objects.create(
                cedula=done, started_at=timezone.now() - dt.timedelta(minutes=minutes), outcome="active"
            )
        CedulaInfo.objects.filter(pk=done.pk).update(next_attempt_at=None, status=Status.ACTIVE)
        _queue()
        _queue()
        held = services.lookup_claim_next()
        assert held is not None

        state = selectors.budget_state()
        allowed, _wait = gate.bulk_gate(timezone.now())

        assert state.used_today == 3 and state.percent_used == 100
        assert (state.bulk_allowed, allowed) == (False, False)
        assert services.lookup_claim_next() is None
