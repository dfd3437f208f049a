"""Registration: validated, throttled per address, and it feeds the lookup queue ahead of bulk work."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from cedula.models import CedulaInfo, Priority, Source, Status
from ops.accounts.models import User

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 3, 14, 17, 0, tzinfo=dt.UTC)


def form(n: int = 0, **overrides: str) -> dict[str, str]:
    return {
        "email": f"persona{n}@example.com",
        "cedula": f"1.020.30{n}.4{n}0",
        "password1": "una-clave-larga-7",
        "password2": "una-clave-larga-7",
        **overrides,
    }


def test_registering_logs_in_and_queues_the_cedula_at_interactive_priority(client):
    response = client.post("/registro/", form(cedula=" 1.234.567 "), follow=True)

    user = User.objects.get(email="persona0@example.com")
    info = CedulaInfo.objects.get(user=user)
    assert response.redirect_chain == [("/", 302)]
    assert response.context["user"] == user
    assert user.cedula == "1234567"
    assert (info.status, info.priority, info.source) == (Status.PENDING, Priority.INTERACTIVE, Source.REGISTRATION)
    assert info.is_queued
    assert "Verificando tu cédula…" in response.content.decode()


@pytest.mark.parametrize("password", ["12345678", "password", "corta"])
def test_weak_passwords_are_refused(client, password):
    response = client.post("/registro/", form(password1=password, password2=password))

    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not User.objects.exists()


def test_an_invalid_or_taken_cedula_is_refused_with_a_reason(client, user_factory):
    user_factory(cedula="1234567")

    taken = client.post("/registro/", form(cedula="1,234,567")).context["form"].errors["cedula"]
    invalid = client.post("/registro/", form(1, cedula="12")).context["form"].errors["cedula"]

    assert taken == ["Ya existe una cuenta registrada con esta cédula."]
    assert "demasiado corta" in invalid[0]


def test_the_registration_form_needs_the_csrf_token():
    response = Client(enforce_csrf_checks=True).post("/registro/", form())

    assert response.status_code == 403
    assert not User.objects.exists()


def test_registration_is_throttled_per_address_for_an_hour(settings):
    settings.REGISTRATION_MAX_PER_IP_PER_HOUR = 2
    same, other = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.9")

    with time_machine.travel(NOON, tick=False):
        same.post("/registro/", form(1, password2="no-coincide"))  # failed attempts count too
        same.post("/registro/", form(2))
    with time_machine.travel(NOON + dt.timedelta(minutes=30), tick=False):
        refused = Client(REMOTE_ADDR="203.0.113.7").post("/registro/", form(3))
        elsewhere = other.post("/registro/", form(4))
    with time_machine.travel(NOON + dt.timedelta(hours=1, seconds=1), tick=False):
        later = Client(REMOTE_ADDR="203.0.113.7").post("/registro/", form(5))

    assert refused.status_code == 429
    assert "demasiados intentos de registro" in refused.content.decode()
    assert "Intenta de nuevo hoy a la 1:00 p. m. (hora de Colombia)." in refused.content.decode()
    assert elsewhere.status_code == 302
    assert later.status_code == 302
    assert sorted(User.objects.values_list("email", flat=True)) == [
        "persona2@example.com",
        "persona4@example.com",
        "persona5@example.com",
    ]


def test_showing_the_form_does_not_count_against_the_throttle(settings):
    settings.REGISTRATION_MAX_PER_IP_PER_HOUR = 1
    browser = Client(REMOTE_ADDR="203.0.113.7")

    for _ in range(3):
        assert browser.get("/registro/").status_code == 200
    assert browser.post("/registro/", form()).status_code == 302
