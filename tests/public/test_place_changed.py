"""A person sees on their page that their voting place changed since their last visit (once)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from cedula.models import CedulaChange, CedulaInfo, Status

pytestmark = pytest.mark.django_db

NOTICE = 'data-testid="place-changed"'


def _change(info: CedulaInfo, *, kind: str = "place", new_status: str = "active") -> CedulaChange:
    return CedulaChange.objects.create(
        cedula=info,
        changed_at=timezone.now(),
        kind=kind,
        old_status="active",
        new_status=new_status,
        old_values={"puesto": "I.E. INEM", "mesa": "030"},
        new_values={"puesto": "UNIVERSIDAD DE ANTIOQUIA", "mesa": "031"},
    )


def test_a_changed_voting_place_is_announced_once_on_the_next_visit(client, person):
    info = CedulaInfo.objects.get(user=person)
    CedulaInfo.objects.filter(pk=info.pk).update(status=Status.ACTIVE, next_attempt_at=None)
    client.force_login(person)
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        assert NOTICE not in client.get("/").content.decode()
    with time_machine.travel(start + dt.timedelta(days=30), tick=False):
        _change(info)
    with time_machine.travel(start + dt.timedelta(days=31), tick=False):
        client.force_login(person)  # the session of a month ago has expired
        html = client.get("/").content.decode()
        again = client.get("/").content.decode()

    assert NOTICE in html
    assert "Tu lugar de votación cambió desde tu última visita." in html
    assert "puesto I.E. INEM · mesa 030" in html
    assert NOTICE not in again


def test_a_change_that_is_not_about_the_place_is_not_announced(client, person):
    info = CedulaInfo.objects.get(user=person)
    client.force_login(person)
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        _change(info, kind="status", new_status="cancelled")
    with time_machine.travel(start + dt.timedelta(days=2), tick=False):
        client.force_login(person)
        assert NOTICE not in client.get("/").content.decode()


def test_a_change_before_the_person_registered_is_not_news_to_them(client, user_factory, cedula_factory):
    info = cedula_factory(cedula="52999999", status=Status.ACTIVE)
    _change(info)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        person = user_factory(cedula="52999999")
        client.force_login(person)
        assert NOTICE not in client.get("/").content.decode()
