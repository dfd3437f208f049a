from __future__ import annotations

import pytest
from django.urls import reverse

from cedula.models import CedulaInfo, Priority, Source, Status
from ops.accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def register(client, *, email="ana@example.com", cedula="1.234.567", password="Clave-segura-2026"):
    return client.post(
        reverse("accounts:register"),
        {"email": email, "cedula": cedula, "password1": password, "password2": password},
    )


def test_a_registration_creates_a_pending_cedula_queued_ahead_of_bulk_work(client):
    response = register(client)

    assert response.status_code == 302
    user = User.objects.get(email="ana@example.com")
    assert user.cedula == "1234567"
    info = CedulaInfo.objects.get(user=user)
    assert info.cedula == "1234567"
    assert info.status == Status.PENDING
    assert info.priority == Priority.INTERACTIVE
    assert info.source == Source.REGISTRATION
    assert info.next_attempt_at is not None


def test_a_duplicate_cedula_in_another_format_is_refused_with_a_clear_error(client):
    register(client)
    client.logout()

    response = register(client, email="otra@example.com", cedula="C.C. 1,234,567")

    assert response.status_code == 200
    assert "Ya existe una cuenta registrada con esta cédula." in response.content.decode()
    assert User.objects.count() == 1


def test_an_invalid_cedula_is_refused_with_the_reason(client):
    response = register(client, cedula="12ab")

    assert response.status_code == 200
    assert "no es una cédula" in response.content.decode()
    assert not CedulaInfo.objects.exists()


def test_a_cedula_known_from_an_import_is_linked_to_the_new_user(client):
    CedulaInfo.objects.create(cedula="1234567", source=Source.IMPORT, priority=Priority.BULK)

    register(client)

    info = CedulaInfo.objects.get(cedula="1234567")
    assert info.user.email == "ana@example.com"
    assert info.priority == Priority.INTERACTIVE


def test_login_and_home_show_the_status(client):
    register(client)
    client.logout()

    response = client.post(reverse("accounts:login"), {"username": "ana@example.com", "password": "Clave-segura-2026"})
    assert response.status_code == 302

    home = client.get(reverse("accounts:home"))
    assert "Verificando tu cédula" in home.content.decode()


def test_home_requires_login(client):
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_staff_add_a_user_with_a_cedula_in_any_format_and_it_is_stored_canonical(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "nuevo@example.com",
            "cedula": "C.C. 1.234.567",
            "password1": "Clave-segura-2026",
            "password2": "Clave-segura-2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="nuevo@example.com")
    assert user.cedula == "1234567"
    assert CedulaInfo.objects.get(user=user).cedula == "1234567"


def test_when_staff_change_a_cedula_the_user_follows_the_new_row(client, admin_client):
    register(client)
    user = User.objects.get(email="ana@example.com")
    data = {
        "email": user.email,
        "cedula": "7.654.321",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = admin_client.post(reverse("admin:accounts_user_change", args=[user.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]

    assert CedulaInfo.objects.get(user=user).cedula == "7654321"
    assert CedulaInfo.objects.get(cedula="1234567").user is None


def test_staff_who_log_in_through_the_console_land_on_the_console(client, admin_user):
    response = client.post(reverse("admin:login"), {"username": admin_user.email, "password": "password"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:index")
