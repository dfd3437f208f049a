"""refresh_allowance: at most REFRESH_MAX_PER_HOUR per sliding hour and REFRESH_MAX_PER_DAY per sliding 24 h, never
while a lookup is in progress, counted from durable RefreshRequest rows."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cedula.models import CedulaInfo, Status
from ops.accounts.models import RefreshRequest
from ops.accounts.selectors import refresh_allowance
from tests.helpers.public import ACTIVE_FIELDS, settle

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 3, 14, 17, 0, tzinfo=dt.UTC)  # 12:00 in Bogotá


def settled_person(user_factory):
    user = user_factory(cedula="52123456")
    settle(CedulaInfo.objects.get(user=user), Status.ACTIVE, **ACTIVE_FIELDS)
    return user


def refreshed(user, *moments):
    for moment in moments:
        RefreshRequest.objects.create(user=user, requested_at=moment)


def test_a_person_who_never_refreshed_may_refresh(user_factory):
    user = settled_person(user_factory)

    allowance = refresh_allowance(user=user, now=NOON)

    assert allowance.allowed
    assert allowance.reason == "allowed"
    assert allowance.next_allowed_at is None


def test_one_refresh_closes_the_hour_until_an_hour_after_it(user_factory):
    user = settled_person(user_factory)
    refreshed(user, NOON - dt.timedelta(minutes=20))

    allowance = refresh_allowance(user=user, now=NOON)

    assert not allowance.allowed
    assert allowance.reason == "hourly_limit"
    assert allowance.next_allowed_at == NOON + dt.timedelta(minutes=40)
    assert refresh_allowance(user=user, now=NOON + dt.timedelta(minutes=40, seconds=1)).allowed


def test_the_sixth_refresh_of_a_day_waits_until_the_oldest_is_24_hours_old(user_factory):
    user = settled_person(user_factory)
    first = NOON - dt.timedelta(hours=20)
    refreshed(user, *(first + dt.timedelta(hours=4 * i) for i in range(5)))  # the last one 4 h ago

    allowance = refresh_allowance(user=user, now=NOON)

    assert not allowance.allowed
    assert allowance.reason == "daily_limit"
    assert allowance.next_allowed_at == first + dt.timedelta(days=1)
    assert allowance.used_last_day == 5


def test_when_both_limits_bind_the_later_reopening_wins(user_factory):
    user = settled_person(user_factory)
    first = NOON - dt.timedelta(hours=23, minutes=50)
    refreshed(user, first, *(NOON - dt.timedelta(hours=h) for h in (6, 4, 2)), NOON - dt.timedelta(minutes=5))

    allowance = refresh_allowance(user=user, now=NOON)

    # The day reopens in 10 minutes, the hour in 55: the person must wait 55.
    assert allowance.reason == "hourly_limit"
    assert allowance.next_allowed_at == NOON + dt.timedelta(minutes=55)


def test_the_limits_follow_the_settings(user_factory, settings):
    settings.REFRESH_MAX_PER_HOUR = 2
    user = settled_person(user_factory)
    refreshed(user, NOON - dt.timedelta(minutes=10))

    assert refresh_allowance(user=user, now=NOON).allowed
    refreshed(user, NOON - dt.timedelta(minutes=5))
    assert refresh_allowance(user=user, now=NOON).next_allowed_at == NOON + dt.timedelta(minutes=50)


def test_refreshes_of_another_person_do_not_count(user_factory):
    user = settled_person(user_factory)
    other = user_factory(cedula="80111222")
    refreshed(other, NOON - dt.timedelta(minutes=1))

    assert refresh_allowance(user=user, now=NOON).allowed


@pytest.mark.parametrize("state", ["never_answered", "queued_again", "held_by_worker"])
def test_no_refresh_while_a_lookup_is_in_progress(user_factory, state):
    user = user_factory(cedula="52123456")  # registration leaves it pending and queued
    info = CedulaInfo.objects.get(user=user)
    if state == "queued_again":
        settle(info, Status.ACTIVE, **ACTIVE_FIELDS)
        CedulaInfo.objects.filter(pk=info.pk).update(next_attempt_at=NOON)
    elif state == "held_by_worker":
        settle(info, Status.ERROR)
        CedulaInfo.objects.filter(pk=info.pk).update(claimed_at=NOON)

    allowance = refresh_allowance(user=user, now=NOON)

    assert not allowance.allowed
    assert allowance.reason == "checking"


def test_an_account_without_a_cedula_cannot_refresh(user_factory):
    staff = user_factory(cedula=None, is_staff=True)

    assert refresh_allowance(user=staff, now=NOON).reason == "no_cedula"


def test_the_answer_follows_the_clock(user_factory):
    user = settled_person(user_factory)
    with time_machine.travel(NOON, tick=False):
        refreshed(user, NOON)
        assert not refresh_allowance(user=user).allowed
    with time_machine.travel(NOON + dt.timedelta(hours=1, seconds=1), tick=False):
        assert refresh_allowance(user=user).allowed
