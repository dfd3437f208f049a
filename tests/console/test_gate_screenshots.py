"""Screenshots of the open gate's banner on the dashboard and the cedulas list, at desk and phone width (issue 23).

.venv/bin/pytest tests/console/test_gate_screenshots.py   # -> var/screenshots/gate-*.png
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula.models import Breaker, CedulaInfo, Status
from tests.helpers.browser import SCREENSHOTS as OUT
from tests.helpers.browser import WIDTHS
from tests.helpers.spanish import english_in

pytestmark = [pytest.mark.integration, pytest.mark.screens, pytest.mark.django_db(transaction=True)]


def test_the_gate_banner_on_the_dashboard_and_the_list_at_desk_and_phone_width(live_server, chromium, admin_user):  # noqa: F811
    OUT.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    for i in range(6):
        CedulaInfo.objects.create(cedula=str(1_098_765_430 + i), status=Status.PENDING, next_attempt_at=now)
    Breaker.objects.update_or_create(
        pk=1,
        defaults={
            "state": Breaker.State.OPEN,
            "cause": "registry_down",
            "cause_since": now - dt.timedelta(minutes=16),
            "opened_at": now - dt.timedelta(minutes=15),
            "open_until": now + dt.timedelta(seconds=240),
            "cooldown_s": 600,
            "consecutive_blocks": 5,
            "probes": 2,
        },
    )
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
        for name, path in {
            "dashboard": reverse("admin:index"),
            "list": reverse("admin:cedula_cedulainfo_changelist"),
        }.items():
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            assert page.locator('[data-testid="gate-banner"]').first.is_visible()
            page.screenshot(path=str(OUT / f"gate-{name}-{width}.png"), full_page=False)
            problems += [f"{name}@{width}: {p}" for p in english_in(page.content())]
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                problems.append(f"{name}@{width}: scrolls sideways by {overflow} px")
        page.goto(live_server.url + reverse("admin:index"))
        page.locator('[data-testid="gate-probe"]').first.click()
        page.wait_for_selector("#dialog")
        page.screenshot(path=str(OUT / f"gate-probe-dialog-{width}.png"))
        context.close()

    assert problems == []
