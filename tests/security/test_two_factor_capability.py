"""Issue 25: the second factor follows what an account can do, not a group's name; a console account is deleted or
changed from the public site only past its second factor; a first enrolment needs a fresh account (or reset) or a
superuser's one-time code; every self-service deletion names who and from where."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from cedula.models import AuditRecord
from ops.accounts.models import User
from ops.accounts.security import staff_requires_2fa
from tests.helpers.two_factor import code_for

pytestmark = pytest.mark.django_db

PASSWORD = "clave-segura-123"


@pytest.fixture(autouse=True)
def _two_factor_on(settings):
    settings.STAFF_2FA_REQUIRED = True
    settings.STAFF_2FA_ENROL_WINDOW_H = 24


def _perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


def _staff(user_factory, **extra):
    return user_factory(is_staff=True, **extra)


# --- 3/4: by capability -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codename", ["export_cedulas", "queue_lookups", "change_user", "delete_cedulainfo"])
def test_a_permission_given_directly_requires_the_second_factor(user_factory, codename):
    staff = _staff(user_factory)
    staff.user_permissions.add(_perm(codename))

    assert staff_requires_2fa(User.objects.get(pk=staff.pk))


def test_a_group_of_any_name_that_can_export_requires_the_second_factor(client, admin_login, user_factory):
    exporters = Group.objects.create(name="Analistas")
    exporters.permissions.add(_perm("view_cedulainfo"), _perm("export_cedulas"))
    staff = _staff(user_factory, email="analista@example.com")
    staff.groups.add(exporters)

    admin_login(client, staff.email)
    export = client.post(reverse("admin:cedula_cedulainfo_export"), {"format": "0", "resource": "0"})

    assert export.status_code == 302 and export["Location"].startswith(reverse("two_factor_enrol"))
    assert not AuditRecord.objects.filter(action="cedula.export").exists()


def test_a_staff_account_that_can_only_look_needs_no_second_factor(client, admin_login, user_factory):
    readers = Group.objects.create(name="Lectores")
    readers.permissions.add(_perm("view_cedulainfo"), _perm("view_lookupattempt"))
    staff = _staff(user_factory, email="lector@example.com")
    staff.groups.add(readers)

    admin_login(client, staff.email)

    assert not staff_requires_2fa(User.objects.get(pk=staff.pk))
    assert client.get(reverse("admin:index")).status_code == 200


# --- 3: the public site ------------------------------------------------------------------------------------------


@pytest.fixture
def enrolled_superuser(user_factory):
    boss = user_factory(email="jefa@example.com", is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=boss, name="app", confirmed=True)
    return boss, device


def _public_login(client: Client, email: str) -> None:
    response = client.post(
        reverse("accounts:login"), {"username": email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.4"
    )
    assert response.status_code == 302


def test_a_password_alone_does_not_delete_a_superuser_from_the_public_site(client, enrolled_superuser):
    boss, _ = enrolled_superuser
    _public_login(client, boss.email)

    page = client.get(reverse("accounts:account_delete"))
    response = client.post(reverse("accounts:account_delete"), {"password": PASSWORD, "confirm": "on"})

    assert page.status_code == 403 and response.status_code == 403
    assert "verificación en dos pasos" in response.content.decode()
    assert User.objects.filter(pk=boss.pk).exists()
    assert not AuditRecord.objects.filter(action="account.self_delete").exists()


def test_a_password_alone_does_not_change_a_staff_profile_from_the_public_site(client, enrolled_superuser):
    boss, _ = enrolled_superuser
    _public_login(client, boss.email)

    response = client.post(reverse("accounts:profile"), {"first_name": "Intrusa", "last_name": "X"})

    assert response.status_code == 403
    assert User.objects.get(pk=boss.pk).first_name != "Intrusa"


def test_past_the_second_factor_a_staff_account_may_delete_itself_and_the_record_names_who_and_where(
    client, enrolled_superuser
):
    boss, device = enrolled_superuser
    _public_login(client, boss.email)
    verified = client.post(reverse("two_factor_verify"), {"token": code_for(device), "next": "/perfil/eliminar/"})
    assert verified.status_code == 302

    response = client.post(
        reverse("accounts:account_delete"), {"password": PASSWORD, "confirm": "on"}, REMOTE_ADDR="198.51.100.4"
    )

    assert response.status_code == 302 and not User.objects.filter(pk=boss.pk).exists()
    record = AuditRecord.objects.get(action="account.self_delete")
    assert record.actor_email == "jefa@example.com" and record.ip == "198.51.100.4" and record.details["staff"] is True


# --- 5: the first enrolment ---------------------------------------------------------------------------------------


def _aged(user: User, *, hours: float) -> User:
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - dt.timedelta(hours=hours))
    return User.objects.get(pk=user.pk)


def test_a_new_account_enrols_within_the_window(client, user_factory):
    boss = user_factory(email="nueva@example.com", is_staff=True, is_superuser=True)
    client.force_login(boss)

    page = client.get(reverse("two_factor_enrol")).content.decode()

    assert 'data-testid="two-factor-qr"' in page


def test_past_the_window_a_password_alone_cannot_see_the_qr_code_or_enrol(client, user_factory):
    boss = _aged(user_factory(email="vieja@example.com", is_staff=True, is_superuser=True), hours=25)
    client.force_login(boss)

    page = client.get(reverse("two_factor_enrol"))
    guess = client.post(reverse("two_factor_enrol"), {"code": "ABCDEFGHJKLM"})

    assert page.status_code == 200 and 'data-testid="two-factor-enrol-code"' in page.content.decode()
    assert "two-factor-qr" not in page.content.decode() + guess.content.decode()
    assert "no es válido" in guess.content.decode()
    assert not TOTPDevice.objects.filter(user=boss).exists()  # no secret was even made
    assert AuditRecord.objects.filter(action="auth.2fa_enrol_code_failed", outcome="denied").count() == 1
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("two_factor_enrol"))


def test_a_superusers_one_time_code_opens_the_enrolment_once(client, user_factory, enrolled_superuser):
    boss, device = enrolled_superuser
    operator = _aged(_staff(user_factory, email="op@example.com"), hours=100)
    operator.user_permissions.add(_perm("queue_lookups"))
    admin = Client()
    admin.force_login(boss)
    admin.post(reverse("two_factor_verify"), {"token": code_for(device)})

    issued = admin.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "issue_enrol_code", "_selected_action": [operator.pk], "index": 0},
    )
    code = re.search(r'data-testid="enrol-code">([A-Z0-9]+)<', issued.content.decode()).group(1)

    client.force_login(operator)
    opened = client.post(reverse("two_factor_enrol"), {"code": code.lower()})
    qr = client.get(reverse("two_factor_enrol")).content.decode()
    again = Client()
    again.force_login(operator)
    reused = again.post(reverse("two_factor_enrol"), {"code": code})

    assert opened.status_code == 302 and 'data-testid="two-factor-qr"' in qr
    assert "no es válido" in reused.content.decode()
    assert User.objects.get(pk=operator.pk).two_factor_enrol_code != code  # stored hashed, and spent
    record = AuditRecord.objects.get(action="auth.2fa_enrol_code_issued")
    assert record.actor == boss and record.details["users"] == ["op@example.com"]
    assert AuditRecord.objects.filter(action="auth.2fa_enrol_code_used").count() == 1


def test_an_expired_code_does_not_open_the_enrolment(client, user_factory):
    from ops.accounts.two_factor import enrol_code_issue

    operator = _aged(_staff(user_factory, email="op2@example.com", is_superuser=True), hours=100)
    code = enrol_code_issue(user=operator)
    User.objects.filter(pk=operator.pk).update(two_factor_enrol_code_until=timezone.now() - dt.timedelta(minutes=1))
    client.force_login(operator)

    response = client.post(reverse("two_factor_enrol"), {"code": code})

    assert "no es válido" in response.content.decode()


def test_a_reset_opens_a_new_window(client, user_factory):
    from ops.accounts.two_factor import two_factor_reset

    operator = _aged(_staff(user_factory, email="op3@example.com", is_superuser=True), hours=100)
    two_factor_reset(user=operator)
    client.force_login(operator)

    assert 'data-testid="two-factor-qr"' in client.get(reverse("two_factor_enrol")).content.decode()


def test_the_command_issues_a_code_for_a_lone_superuser(user_factory):
    boss = _aged(user_factory(email="sola@example.com", is_staff=True, is_superuser=True), hours=100)
    out = StringIO()

    call_command("two_factor_enrol_code", "SOLA@example.com", stdout=out)

    from ops.accounts.two_factor import enrol_code_redeem

    assert enrol_code_redeem(user=boss, code=out.getvalue().strip())
    assert AuditRecord.objects.filter(action="auth.2fa_enrol_code_issued", target_id=str(boss.pk)).exists()
