"""A stolen password alone opens no staff session: superusers and Operadores give a TOTP code; Consulta does not."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from cedula.models import AuditRecord
from tests.helpers.two_factor import code_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _two_factor_on(settings):
    settings.STAFF_2FA_REQUIRED = True


def enrol(client: Client, user) -> list[str]:
    """Walk the enrolment pages as a person would; return the recovery codes shown."""
    page = client.get(reverse("two_factor_enrol"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(reverse("two_factor_enrol"), {"token": code_for(device), "next": "/admin/"})
    assert done.status_code == 302 and done["Location"].startswith(reverse("two_factor_recovery"))
    codes_page = client.get(done["Location"]).content.decode()
    return re.findall(r"<li>([a-z0-9]{8})</li>", codes_page)


@pytest.mark.parametrize(("role", "needs_code"), [("superuser", True), ("Operadores", True), ("Consulta", False)])
def test_the_second_factor_is_required_for_superusers_and_operators_only(
    client, admin_login, staff_in, superuser, role, needs_code
):
    user = superuser if role == "superuser" else staff_in(role)

    login = admin_login(client, user.email)
    console = client.get(reverse("admin:index"))

    assert login.status_code == 302  # the password was right: only the console stays shut
    if needs_code:
        assert console.status_code == 302 and console["Location"].startswith(reverse("two_factor_enrol"))
        assert client.get(reverse("admin:cedula_cedulainfo_changelist")).status_code == 302
    else:
        assert console.status_code == 200


def test_with_the_setting_off_nobody_is_asked_for_a_code(client, superuser, settings):
    settings.STAFF_2FA_REQUIRED = False
    client.force_login(superuser)

    assert client.get(reverse("admin:index")).status_code == 200


def test_enrolment_shows_a_qr_code_then_recovery_codes_then_opens_the_console(client, superuser):
    client.force_login(superuser)

    page = client.get(reverse("two_factor_enrol")).content.decode()
    assert 'data-testid="two-factor-qr"' in page and "<svg" in page and "<path" in page
    assert "Activar" in page and "Escanea este código" in page
    codes = enrol(client, superuser)

    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get(reverse("admin:index")).status_code == 200
    assert TOTPDevice.objects.get(user=superuser).confirmed
    assert AuditRecord.objects.filter(action="auth.2fa_enrolled", actor=superuser).count() == 1
    # The codes are shown once.
    assert client.get(reverse("two_factor_recovery")).status_code == 302


def test_a_wrong_code_does_not_enrol(client, superuser):
    client.force_login(superuser)
    client.get(reverse("two_factor_enrol"))

    response = client.post(reverse("two_factor_enrol"), {"token": "000000"})

    assert response.status_code == 200 and "El código no coincide" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=superuser, confirmed=True).exists()
    assert client.get(reverse("admin:index")).status_code == 302


def test_an_enrolled_superuser_gives_a_code_on_each_new_login(client, admin_login, superuser):
    client.force_login(superuser)
    enrol(client, superuser)
    client.post(reverse("admin:logout"))

    fresh = Client()
    admin_login(fresh, superuser.email)
    console = fresh.get(reverse("admin:index"))
    assert console.status_code == 302 and console["Location"].startswith(reverse("two_factor_verify"))
    wrong = fresh.post(reverse("two_factor_verify"), {"token": "123456", "next": "/admin/"})
    assert wrong.status_code == 200 and "El código no es válido" in wrong.content.decode()
    device = TOTPDevice.objects.get(user=superuser)
    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp waits after a wrong code; the test does not
    device.throttling_failure_timestamp = None
    device.last_t = -1
    device.save()
    right = fresh.post(reverse("two_factor_verify"), {"token": code_for(device), "next": "/admin/"})

    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert fresh.get(reverse("admin:index")).status_code == 200
    assert AuditRecord.objects.filter(action="auth.2fa_failed", actor=superuser, outcome="denied").count() == 1
    assert AuditRecord.objects.filter(action="auth.2fa_verified", actor=superuser).count() == 1


def test_a_recovery_code_works_once(client, superuser):
    client.force_login(superuser)
    codes = enrol(client, superuser)

    first = Client()
    first.force_login(superuser)
    used = first.post(reverse("two_factor_verify"), {"token": codes[0]})
    second = Client()
    second.force_login(superuser)
    reused = second.post(reverse("two_factor_verify"), {"token": codes[0]})

    assert used.status_code == 302 and first.get(reverse("admin:index")).status_code == 200
    assert reused.status_code == 200 and second.get(reverse("admin:index")).status_code == 302
    assert StaticToken.objects.filter(device__user=superuser).count() == 9
    assert AuditRecord.objects.filter(action="auth.2fa_recovery_used").count() == 1


def test_a_superuser_resets_a_lost_device_and_the_owner_enrols_again(client, staff_in, superuser):
    operator = staff_in("Operadores")
    mine = Client()
    mine.force_login(operator)
    enrol(mine, operator)
    client.force_login(superuser)
    enrol(client, superuser)

    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [operator.pk], "index": 0},
    )

    assert not TOTPDevice.objects.filter(user=operator).exists()
    assert not StaticDevice.objects.filter(user=operator).exists()
    again = Client()
    again.force_login(operator)
    response = again.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_enrol"))
    record = AuditRecord.objects.get(action="auth.2fa_reset")
    assert record.actor == superuser and record.count == 1 and operator.email in record.details["users"]


def test_only_a_superuser_may_reset_a_device(client, staff_in, settings):
    settings.STAFF_2FA_REQUIRED = False
    operator = staff_in("Operadores")
    other = staff_in("Operadores")
    TOTPDevice.objects.create(user=other, name="x", confirmed=True)
    client.force_login(operator)

    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [other.pk], "index": 0},
    )

    assert TOTPDevice.objects.filter(user=other).exists()


def test_the_two_factor_pages_need_a_login(client):
    response = client.get(reverse("two_factor_verify"))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_device_admin_pages_that_show_secrets_are_not_in_the_console(client, superuser, settings):
    settings.STAFF_2FA_REQUIRED = False
    client.force_login(superuser)

    index = client.get(reverse("admin:index")).content.decode()

    assert "otp_totp" not in index and "otp_static" not in index


def test_a_staff_session_ends_after_the_configured_hours_even_when_active(client, admin_login, staff_in, settings):
    settings.STAFF_2FA_REQUIRED = False
    reader = staff_in("Consulta")
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        admin_login(client, reader.email)
        for _ in range(7):
            clock.shift(dt.timedelta(hours=1))
            assert client.get(reverse("admin:index")).status_code == 200
        clock.shift(dt.timedelta(hours=1, minutes=1))
        response = client.get(reverse("admin:index"))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_public_session_is_not_cut_at_the_staff_hours(client, user_factory, settings):
    person = user_factory(email="persona@example.com")
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        client.post(reverse("accounts:login"), {"username": person.email, "password": "clave-segura-123"})
        clock.shift(dt.timedelta(hours=settings.STAFF_SESSION_HOURS + 1))
        response = client.get(reverse("accounts:profile"))

    assert response.status_code == 200


@pytest.mark.parametrize(("debug", "expected"), [("0", "True"), ("1", "False")])
def test_the_second_factor_is_on_by_default_in_production_and_off_in_the_demo(tmp_path, debug, expected):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "STAFF_2FA_REQUIRED"}
    env.update({"DEBUG": debug, "OPS_IGNORE_DOTENV": "1", "VAR_DIR": str(tmp_path), "LOG_DIR": str(tmp_path),
                "SECRET_KEY": "x" * 60})  # fmt: skip
    code = "import django; django.setup(); from django.conf import settings; print(settings.STAFF_2FA_REQUIRED)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={**env, "DJANGO_SETTINGS_MODULE": "ops.settings"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr
