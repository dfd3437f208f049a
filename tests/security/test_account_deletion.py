""" "Eliminar mi cuenta": the person goes; their cedula row goes too, unless staff hold it (then it is unlinked)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cedula.models import AuditRecord, CedulaInfo, LookupAttempt, Source
from ops.accounts.models import RefreshRequest, User
from ops.accounts.services import account_delete

pytestmark = pytest.mark.django_db

PASSWORD = "clave-segura-123"


@pytest.fixture
def person(user_factory):
    # The registration signal creates and links the row, as the public sign-up does.
    return user_factory(email="ana@example.com", cedula="1234567")


def test_the_profile_offers_to_delete_the_account(client, person):
    client.force_login(person)

    page = client.get(reverse("accounts:profile")).content.decode()

    assert "Eliminar mi cuenta" in page and reverse("accounts:account_delete") in page


def test_deleting_asks_for_confirmation_and_the_password(client, person):
    client.force_login(person)
    url = reverse("accounts:account_delete")

    page = client.get(url)
    unconfirmed = client.post(url, {"password": PASSWORD})
    wrong = client.post(url, {"password": "otra", "confirm": "on"})

    assert page.status_code == 200 and "no se puede deshacer" in page.content.decode()
    assert unconfirmed.status_code == 200 and wrong.status_code == 200
    assert "La contraseña no es correcta." in wrong.content.decode()
    assert User.objects.filter(pk=person.pk).exists()


def test_a_registered_persons_row_and_attempts_are_deleted_with_the_account(client, person, attempt_factory):
    row = CedulaInfo.objects.get(user=person)
    assert row.source == Source.REGISTRATION
    attempt_factory(row)
    RefreshRequest.objects.create(user=person, requested_at=row.created_at)
    client.force_login(person)

    response = client.post(reverse("accounts:account_delete"), {"password": PASSWORD, "confirm": "on"})

    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert not User.objects.filter(pk=person.pk).exists()
    assert not CedulaInfo.objects.filter(cedula="1234567").exists()
    assert not LookupAttempt.objects.filter(cedula_id=row.pk).exists()
    assert not RefreshRequest.objects.exists()
    assert "_auth_user_id" not in client.session
    record = AuditRecord.objects.get(action="account.self_delete")
    assert record.actor is None and record.ip is None and record.actor_email == ""
    assert record.details["cedula_row"] == "deleted"
    assert "ana@" not in str(record.details) + record.target_repr and "1234567" not in record.target_repr


@pytest.mark.parametrize("held_by", ["import_batch", "source"])
def test_a_row_staff_hold_is_unlinked_not_deleted(user_factory, cedula_factory, batch_factory, held_by):
    fields = {"import_batch": batch_factory()} if held_by == "import_batch" else {"source": Source.IMPORT}
    row = cedula_factory(cedula="7654321", **({"source": Source.REGISTRATION} | fields))
    person = user_factory(cedula="7654321")
    row.refresh_from_db()
    assert row.user_id == person.pk

    outcome = account_delete(user=person)

    row.refresh_from_db()
    assert outcome.cedula_row == "unlinked"
    assert row.user_id is None
    assert not User.objects.filter(pk=person.pk).exists()


def test_an_account_without_a_cedula_row_is_deleted_too(user_factory):
    person = user_factory()

    assert account_delete(user=person).cedula_row == "none"
    assert not User.objects.filter(pk=person.pk).exists()
