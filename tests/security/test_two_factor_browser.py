"""Two-factor sign-in in a real Chromium: the password opens nothing, the code read off the enrolment page does.

The TOTP code is computed from the key the page shows for typing by hand, as an authenticator app would from the QR.
Screenshots of the three pages go to var/screenshots/ (two-factor-*.png) for a person to look at.
"""

from __future__ import annotations

import base64
import re

import pytest
from django.urls import reverse
from django_otp.oath import totp

from cedula.models import AuditRecord
from ops.accounts.two_factor import RECOVERY_CODES
from tests.helpers.browser import SCREENSHOTS as OUT
from tests.helpers.spanish import english_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def code_from_secret(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, step=30, digits=6):06d}"


def sign_in(browser, live_server, email: str):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="es-CO")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(live_server.url + reverse("admin:login"))
    page.fill('input[name="username"]', email)
    page.fill('input[name="password"]', "password")
    page.click('[type="submit"]')
    page.wait_for_load_state("networkidle")
    return context, page


def test_a_superuser_enrols_in_the_browser_and_a_password_alone_opens_no_console_page(
    live_server,
    chromium,
    admin_user,
    settings,
):
    settings.STAFF_2FA_REQUIRED = True
    OUT.mkdir(parents=True, exist_ok=True)
    console = live_server.url + reverse("admin:cedula_cedulainfo_changelist")
    problems: list[str] = []

    # First login: the password is right, the console sends the superuser to enrol.
    context, page = sign_in(chromium, live_server, admin_user.email)
    assert page.url.startswith(live_server.url + reverse("two_factor_enrol")), page.url
    assert page.locator('[data-testid="two-factor-qr"] svg').count() == 1
    page.screenshot(path=str(OUT / "two-factor-enrol-1440.png"), full_page=True)
    problems += english_in(page.content())
    page.goto(console)
    assert reverse("two_factor_enrol") in page.url  # no console page before the second factor

    secret = page.locator('[data-testid="two-factor-secret"]').inner_text().strip()
    page.fill('input[name="token"]', "000000" if code_from_secret(secret) != "000000" else "111111")
    page.click('form[data-testid="two-factor-enrol"] [type="submit"]')
    assert "El código no coincide" in page.content()
    page.wait_for_timeout(1_100)  # django-otp refuses any code for 1 s after a wrong one (2 s after two, ...)

    page.fill('input[name="token"]', code_from_secret(secret))
    page.click('form[data-testid="two-factor-enrol"] [type="submit"]')
    page.wait_for_selector('[data-testid="recovery-codes"]')
    codes = re.findall(r"\b[a-z0-9]{8}\b", page.locator('[data-testid="recovery-codes"]').inner_text())
    assert len(set(codes)) == RECOVERY_CODES
    page.screenshot(path=str(OUT / "two-factor-recovery-1440.png"), full_page=True)
    problems += english_in(page.content())
    page.get_by_text("Continuar a la consola").click()
    page.wait_for_load_state("networkidle")
    page.goto(console)
    assert page.url.startswith(console), page.url
    context.close()

    # A new login with the password alone (a stolen password): asked for a code, the console stays shut.
    context, page = sign_in(chromium, live_server, admin_user.email)
    assert page.url.startswith(live_server.url + reverse("two_factor_verify")), page.url
    page.screenshot(path=str(OUT / "two-factor-verify-1440.png"), full_page=True)
    problems += english_in(page.content())
    page.goto(console)
    assert reverse("two_factor_verify") in page.url
    # A recovery code opens it once.
    page.fill('input[name="token"]', codes[0])
    page.click('form[data-testid="two-factor-verify"] [type="submit"]')
    page.wait_for_load_state("networkidle")
    page.goto(console)
    assert page.url.startswith(console), page.url
    context.close()

    assert problems == []
    actions = list(AuditRecord.objects.filter(actor=admin_user).values_list("action", "outcome"))
    assert ("auth.2fa_enrolled", "success") in actions and ("auth.2fa_recovery_used", "success") in actions
