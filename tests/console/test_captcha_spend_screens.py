"""Screenshots of the captcha spend cards (dashboard and batch page) at desk and phone widths, in a real Chromium.

    SPEND_SHOTS_DIR=/some/dir .venv/bin/pytest tests/console/test_captcha_spend_screens.py

Checked as the console's other screenshots are: no English on screen, no sideways scroll, the card's figures there.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from cedula.models import CaptchaBalance, CedulaInfo, ImportBatch, LookupAttempt, Status
from tests.helpers.browser import WIDTHS
from tests.helpers.spanish import english_in

pytestmark = [pytest.mark.integration, pytest.mark.screens, pytest.mark.django_db(transaction=True)]

OUT = Path(os.environ.get("SPEND_SHOTS_DIR") or Path(settings.BASE_DIR) / "var" / "screenshots")


def _spend_rows(admin_user) -> int:
    now = timezone.now()
    batch = ImportBatch.objects.create(
        file_name="padron-sur.csv", created_by=admin_user, total_rows=1204, new_rows=1204
    )
    done = CedulaInfo.objects.create(cedula="1098765430", status=Status.ACTIVE, import_batch=batch, last_checked=now)
    CedulaInfo.objects.bulk_create(
        CedulaInfo(cedula=str(1_098_800_000 + i), import_batch=batch, next_attempt_at=now) for i in range(1200)
    )
    LookupAttempt.objects.create(
        cedula=done, started_at=timezone.now(), outcome="active",
        captcha_solved=412, captcha_used=405, captcha_refused=6, captcha_wasted=7,
    )  # fmt: skip
    CaptchaBalance.objects.create(
        pk=1, solver="2captcha", balance_usd=4.2, read_at=now - dt.timedelta(minutes=4), checked_at=now
    )
    return batch.pk


def test_the_spend_cards_at_desk_and_phone_width(live_server, chromium, admin_user, settings):  # noqa: F811
    settings.CAPTCHA_SOLVER = "2captcha"
    OUT.mkdir(parents=True, exist_ok=True)
    batch_id = _spend_rows(admin_user)
    problems: list[str] = []
    for width, (w, h) in WIDTHS.items():
        context = chromium.new_context(viewport={"width": w, "height": h}, locale="es-CO")
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.goto(live_server.url + reverse("admin:login"))
        page.fill('input[name="username"]', admin_user.email)
        page.fill('input[name="password"]', "password")
        page.click('[type="submit"]')
        page.wait_for_url(f"{live_server.url}/admin/**")
        for name, path, card in (
            ("dashboard", reverse("admin:index"), "spend-panel"),
            ("batch", reverse("admin:cedula_importbatch_change", args=[batch_id]), "batch-spend"),
        ):
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            element = page.locator(f'[data-testid="{card}"]').locator(
                "xpath=ancestor::div[contains(@class,'rounded')][1]"
            )
            if name == "dashboard":
                page.locator('[data-testid="spend-days"] summary').click()  # the 7 days open in the picture
            element.scroll_into_view_if_needed()
            element.screenshot(path=str(OUT / f"spend-{name}-card-{width}.png"))
            page.screenshot(path=str(OUT / f"spend-{name}-{width}.png"), full_page=True)
            problems += [f"{name}@{width}: {p}" for p in english_in(page.content())]
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                problems.append(f"{name}@{width}: scrolls sideways by {overflow} px")
            assert "USD 1,23" in page.locator(f'[data-testid="{card}"]').inner_text()  # 412 x 0.00299
        context.close()
    assert problems == []
