"""The console in a real Chromium against the live server: log in, import a CSV, watch the dashboard, retry a row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cedula.models import CedulaInfo, Status
from cedula.registry.browser import CHROMIUM_ARGS as BROWSER_FLAGS

# The flags every Chromium here needs (without them it floods the closed network).
CHROMIUM_ARGS = list(BROWSER_FLAGS)


def _count(page, status: str) -> str:
    return page.locator(f'[data-testid="count-{status}"]').inner_text().strip()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_operator_imports_a_csv_watches_the_dashboard_and_retries_a_failed_row(
    live_server, browser_page, staff_in, cedula_factory, tmp_path
):
    operator = staff_in("Operadores")
    failed = cedula_factory(cedula="99887766", status=Status.ERROR, error_kind="timeout")
    csv = tmp_path / "lote.csv"
    csv.write_text("cedula\n1.234.567\n52.123.456\n0080123456\n", encoding="utf-8")

    page = browser_page.new_page()
    page.goto(live_server.url + reverse("admin:login") + "?next=" + reverse("admin:index"))
    page.fill('input[name="username"]', operator.email)
    page.fill('input[name="password"]', "clave-segura-123")
    page.click('[type="submit"]')
    page.wait_for_url(live_server.url + reverse("admin:index"))

    # The dashboard stays open in its own tab; a marker shows it is never reloaded.
    dashboard = page
    assert _count(dashboard, "queued") == "0"
    assert _count(dashboard, "error") == "1"
    dashboard.evaluate("window.__notReloaded = true")

    work = browser_page.new_page()
    work.goto(live_server.url + reverse("admin:cedula_cedulainfo_import"))
    work.set_input_files('input[name="import_file"]', str(csv))
    work.locator('form:has(input[name="import_file"]) [type="submit"]').click()
    work.locator('#import-confirm [type="submit"]').click()
    work.wait_for_url(f"{live_server.url}{reverse('admin:cedula_cedulainfo_changelist')}**")
    assert CedulaInfo.objects.filter(status=Status.PENDING).count() == 3

    # What the 30 s poll does, now: fetch the fragment and swap it in; the charts are drawn again.
    fragment = reverse("admin:cedula_cedulainfo_dashboard")
    dashboard.evaluate(f"htmx.ajax('GET', '{fragment}', {{target: '#cedula-dashboard', swap: 'innerHTML'}})")
    dashboard.wait_for_function("document.querySelector('[data-testid=count-queued]').innerText.trim() === '3'")
    assert dashboard.evaluate("window.__notReloaded") is True
    assert dashboard.evaluate("[...document.querySelectorAll('canvas.chart')].every(c => Chart.getChart(c))")
    assert "every 30s" in dashboard.locator("#cedula-dashboard").get_attribute("hx-trigger")

    # Retry the failed row from the changelist.
    work.goto(live_server.url + reverse("admin:cedula_cedulainfo_changelist") + "?status__exact=error")
    work.check(f'input.action-select[value="{failed.pk}"]')
    work.select_option('select[name="action"]', "retry_failed")
    work.click('button[name="index"]')
    work.wait_for_selector("text=1 cédula con error vuelve a la cola")
    failed.refresh_from_db()
    assert failed.next_attempt_at is not None
    # Queued again, it reads as queued everywhere: its badge, and the dashboard's cards (Error 0, En cola 4).
    assert (
        work.locator(f'#result_list tr:has(input.action-select[value="{failed.pk}"])')
        .inner_text()
        .upper()
        .count("EN COLA")
    )
    dashboard.evaluate(f"htmx.ajax('GET', '{fragment}', {{target: '#cedula-dashboard', swap: 'innerHTML'}})")
    dashboard.wait_for_function("document.querySelector('[data-testid=count-queued]').innerText.trim() === '4'")
    assert _count(dashboard, "error") == "0"
