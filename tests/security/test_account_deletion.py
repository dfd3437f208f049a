""" "Eliminar mi cuenta": the person goes; their cedula row goes too, unless staff hold it (then it is unlinked)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cedula import services
from cedula.importing import SourceRow
from cedula.models import AuditRecord, CedulaInfo, LookupAttempt, Priority, Source, Status
from ops.accounts.models import RefreshRequest, User
from ops.accounts.services import account_delete, cedula_user_refresh

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
    # issue 25: who and from where (the account is gone: the link is cleared, its email stays)
    assert record.actor is None and record.ip == "127.0.0.1" and record.actor_email == "ana@example.com"
    assert record.details["cedula_row"] == "deleted"
    assert "ana@" not in str(record.details) + record.target_repr and "1234567" not in record.target_repr


def _import(*cedulas: str):
    rows = [SourceRow(number, cedula) for number, cedula in enumerate(cedulas, start=2)]
    return services.cedula_import_rows(rows=rows, file_name="staff.csv", user=None)


def _imported_then_registered(user_factory):
    _import("7654321")
    return user_factory(cedula="7654321")


def _registered_then_named_by_an_import(user_factory):
    person = user_factory(cedula="7654321")
    report = _import("7654321", "7654322")
    assert report.existing == 1  # the import found the person's row already known: it did not create it
    return person


def _console_row_whose_owner_refreshed(user_factory):
    services.cedula_request_lookup(cedula="7654321", priority=Priority.STAFF, source=Source.ADMIN)
    person = user_factory(cedula="7654321")
    CedulaInfo.objects.filter(cedula="7654321").update(next_attempt_at=None, status=Status.ACTIVE)  # looked up
    assert cedula_user_refresh(user=person).accepted
    assert CedulaInfo.objects.get(cedula="7654321").source == Source.REFRESH  # the last cycle's source
    return person


@pytest.mark.parametrize(
    "history", [_imported_then_registered, _registered_then_named_by_an_import, _console_row_whose_owner_refreshed]
)
def test_a_row_staff_hold_is_unlinked_not_deleted(user_factory, history):
    person = history(user_factory)
    row = CedulaInfo.objects.get(cedula="7654321")
    assert row.user_id == person.pk

    outcome = account_delete(user=person)

    row.refresh_from_db()
    assert outcome.cedula_row == "unlinked"
    assert row.user_id is None and row.staff_listed
    assert not User.objects.filter(pk=person.pk).exists()


def test_a_registered_row_staff_only_looked_up_again_is_still_the_persons(user_factory):
    """Queueing a registrant's row from the console is not an import: the row is not the staff's to keep."""
    person = user_factory(cedula="7654321")
    services.cedula_request_lookup(cedula="7654321", priority=Priority.STAFF, source=Source.REGISTRATION)

    assert account_delete(user=person).cedula_row == "deleted"
    assert not CedulaInfo.objects.filter(cedula="7654321").exists()


def test_an_account_without_a_cedula_row_is_deleted_too(user_factory):
    person = user_factory()

    assert account_delete(user=person).cedula_row == "none"
    assert not User.objects.filter(pk=person.pk).exists()
