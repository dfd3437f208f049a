"""Guessing a password fails after a handful of tries: per account, per address, console and public site alike."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from cedula.models import AuditRecord
from ops.accounts.security import client_ip

pytestmark = pytest.mark.django_db

LOCKED_TEXT = "Demasiados intentos fallidos de ingreso"


def _fail(admin_login, client, email, times, ip="203.0.113.7"):
    for _ in range(times):
        response = admin_login(client, email, "contraseña-equivocada", ip=ip)
    return response


def test_a_staff_account_is_locked_after_the_maximum_failures_even_with_the_right_password(
    client, admin_login, staff_in, settings
):
    user = staff_in("Operadores")

    fourth = _fail(admin_login, client, user.email, settings.LOGIN_MAX_FAILURES - 1)
    assert fourth.status_code == 200 and LOCKED_TEXT not in fourth.content.decode()
    _fail(admin_login, client, user.email, 1)
    response = admin_login(client, user.email)

    assert response.status_code == 429
    assert LOCKED_TEXT in response.content.decode()
    assert f"{settings.LOGIN_LOCKOUT_MIN} minutos" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_account_is_locked_whatever_address_guesses_it(client, admin_login, staff_in, settings):
    user = staff_in("Operadores")
    for n in range(settings.LOGIN_MAX_FAILURES):
        admin_login(client, user.email, "mal", ip=f"198.51.100.{n + 1}")

    response = admin_login(client, user.email, ip="192.0.2.200")

    assert response.status_code == 429


def test_an_address_is_locked_whatever_accounts_it_tries(client, admin_login, staff_in, settings):
    user = staff_in("Operadores")
    for n in range(settings.LOGIN_MAX_FAILURES):
        admin_login(client, f"nadie{n}@example.com", "mal", ip="203.0.113.9")

    from_there = admin_login(client, user.email, ip="203.0.113.9")
    from_elsewhere = admin_login(client, user.email, ip="192.0.2.10")

    assert from_there.status_code == 429
    assert from_elsewhere.status_code == 302 and from_elsewhere["Location"] == "/admin/"


def test_the_messages_do_not_reveal_whether_the_account_exists(client, admin_login, staff_in, settings):
    user = staff_in("Operadores")

    wrong_password = admin_login(client, user.email, "mal", ip="192.0.2.1").content.decode()
    unknown_account = admin_login(client, "no-existe@example.com", "mal", ip="192.0.2.2").content.decode()
    _fail(admin_login, client, user.email, settings.LOGIN_MAX_FAILURES, ip="192.0.2.3")
    _fail(admin_login, client, "tampoco@example.com", settings.LOGIN_MAX_FAILURES, ip="192.0.2.4")
    locked_real = admin_login(client, user.email, "mal", ip="192.0.2.3")
    locked_unknown = admin_login(client, "tampoco@example.com", "mal", ip="192.0.2.4")

    def error_of(page):
        start = page.index("errornote") if "errornote" in page else page.index("Por favor")
        return page[start : start + 400].replace(user.email, "X").replace("no-existe@example.com", "X")

    assert error_of(wrong_password) == error_of(unknown_account)
    assert locked_real.status_code == locked_unknown.status_code == 429
    assert locked_real.content.decode() == locked_unknown.content.decode()


def test_the_lock_lifts_after_the_lockout_minutes(client, admin_login, staff_in, settings):
    user = staff_in("Operadores")
    with time_machine.travel(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), tick=False) as clock:
        _fail(admin_login, client, user.email, settings.LOGIN_MAX_FAILURES)
        assert admin_login(client, user.email).status_code == 429
        clock.shift(dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MIN - 1))
        assert admin_login(client, user.email).status_code == 429
        clock.shift(dt.timedelta(minutes=2))
        response = admin_login(client, user.email)

    assert response.status_code == 302


def test_a_superuser_unlocks_from_the_console_and_it_is_audited(client, admin_login, staff_in, superuser, settings):
    user = staff_in("Operadores")
    _fail(admin_login, client, user.email, settings.LOGIN_MAX_FAILURES)
    assert admin_login(client, user.email).status_code == 429
    attempt = AccessAttempt.objects.get(username=user.email)

    boss = client.__class__()
    boss.force_login(superuser)
    page = boss.get(reverse("admin:accounts_loginlock_changelist"))
    assert page.status_code == 200 and user.email in page.content.decode()
    boss.post(
        reverse("admin:accounts_loginlock_changelist"),
        {"action": "unlock", "_selected_action": [attempt.pk], "index": 0},
    )

    assert admin_login(client, user.email).status_code == 302
    record = AuditRecord.objects.get(action="auth.unlock")
    assert record.actor == superuser and record.count >= 1 and user.email in record.details["usernames"]


@pytest.mark.parametrize("role", ["Consulta", "Operadores"])
def test_only_a_superuser_sees_or_lifts_the_locks(client, staff_in, role):
    client.force_login(staff_in(role))

    response = client.get(reverse("admin:accounts_loginlock_changelist"))

    assert response.status_code == 403


def test_a_lockout_writes_one_audit_record_naming_what_was_tried(client, admin_login, settings):
    _fail(admin_login, client, "Alguien@Example.com", settings.LOGIN_MAX_FAILURES, ip="203.0.113.50")
    admin_login(client, "alguien@example.com", ip="203.0.113.50")  # refused while locked: no second record

    record = AuditRecord.objects.get(action="auth.lockout")
    assert record.target_repr == "alguien@example.com"
    assert record.ip == "203.0.113.50" and record.outcome == "denied" and record.actor is None


def test_the_public_login_is_locked_the_same_way(client, user_factory, settings):
    person = user_factory(email="ciudadana@example.com")
    url = reverse("accounts:login")
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post(url, {"username": person.email, "password": "mal"}, REMOTE_ADDR="198.51.100.20")

    response = client.post(url, {"username": person.email, "password": "clave-segura-123"}, REMOTE_ADDR="198.51.100.20")

    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED_TEXT in page and 'data-testid="lockout-message"' in page
    assert "_auth_user_id" not in client.session


# --- the client address behind a reverse proxy ------------------------------------------------------------------


def test_the_forwarded_header_is_ignored_unless_the_deployment_trusts_it(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    settings.TRUST_PROXY_IP_HEADER = False

    assert client_ip(request) == "10.0.0.5"


@pytest.mark.parametrize(
    ("header", "count", "expected"),
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # the left part is what the client wrote: not trusted
        ("6.6.6.6, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"),
        ("", 1, "10.0.0.5"),
        ("not-an-ip", 1, "10.0.0.5"),
        ("203.0.113.7:51234", 1, "203.0.113.7"),
    ],
)
def test_a_trusted_proxy_header_gives_the_client_address(settings, header, count, expected):
    settings.TRUST_PROXY_IP_HEADER = True
    settings.PROXY_IP_HEADER = "X-Forwarded-For"
    settings.PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=header)

    assert client_ip(request) == expected


def test_behind_a_trusted_proxy_the_lockout_counts_the_client_not_the_proxy(client, admin_login, staff_in, settings):
    settings.TRUST_PROXY_IP_HEADER = True
    user = staff_in("Operadores")
    for n in range(settings.LOGIN_MAX_FAILURES):
        admin_login(client, f"x{n}@example.com", "mal", ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")

    attacker = admin_login(client, user.email, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")
    colleague = admin_login(client, user.email, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.67")

    assert attacker.status_code == 429
    assert colleague.status_code == 302
