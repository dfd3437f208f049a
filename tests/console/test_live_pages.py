"""Pages that follow running work: the cedula list's queued rows, a row's page in flight and the Importaciones list
refresh themselves (cedula/static/cedula/live_rows.js); rows at rest, finished batches and answered rows do not."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula.models import CedulaInfo, Status

CHANGELIST = "admin:cedula_cedulainfo_changelist"


def _login(page, live_server, user):
    page.goto(live_server.url + reverse("admin:login") + "?next=" + reverse("admin:index"))
    page.fill('input[name="username"]', user.email)
    page.fill('input[name="password"]', "clave-segura-123")
    page.click('[type="submit"]')
    page.wait_for_url(live_server.url + reverse("admin:index"))


@pytest.mark.django_db
def test_only_rows_with_work_left_are_marked_live(admin_client, cedula_factory, batch_factory):
    queued = cedula_factory(cedula="11111111", next_attempt_at=timezone.now())
    done = cedula_factory(cedula="22222222", status=Status.ACTIVE)

    html = admin_client.get(reverse(CHANGELIST)).content.decode()

    rows = dict(re.findall(r'value="(\d+)".*?(data-live="1"|</tr>)', html, re.S))
    assert rows[str(queued.pk)] == 'data-live="1"' and rows[str(done.pk)] == "</tr>"
    detail = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[queued.pk])).content.decode()
    assert 'data-live-state="queued"' in detail
    answered = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[done.pk])).content.decode()
    assert "data-live-state" not in answered and 'data-row-state="active"' in answered
    assert "cedula/live_rows.js" in html


@pytest.mark.django_db
def test_the_importaciones_list_shows_progress_eta_and_errors(admin_client, cedula_factory, batch_factory):
    running = batch_factory(file_name="en-curso.csv", total_rows=4)
    for _ in range(2):
        cedula_factory(import_batch=running, next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    cedula_factory(import_batch=running, status=Status.ACTIVE)
    cedula_factory(import_batch=running, status=Status.ERROR, error_kind="timeout")
    finished = batch_factory(file_name="listo.csv", total_rows=1)
    cedula_factory(import_batch=finished, status=Status.ACTIVE)

    html = admin_client.get(reverse("admin:cedula_importbatch_changelist")).content.decode()

    rows = {name: row for row in re.findall(r"<tr.*?</tr>", html, re.S) for name in ("en-curso.csv", "listo.csv")
            if name in row}  # fmt: skip
    text = {name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for name, row in rows.items()}
    assert "2 de 4 (50 %)" in text["en-curso.csv"] and 'data-live="1"' in rows["en-curso.csv"]
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", text["en-curso.csv"])  # its ETA
    assert "status__exact=error" in rows["en-curso.csv"] and "1 de 1 (100 %)" in text["listo.csv"]
    assert "terminado" in text["listo.csv"] and "data-live" not in rows["listo.csv"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_queued_row_updates_in_the_open_list_and_keeps_the_tick(live_server, browser_page, staff_in, cedula_factory):
    operator = staff_in("Operadores")
    row = cedula_factory(cedula="33333333", next_attempt_at=timezone.now())
    other = cedula_factory(cedula="44444444", next_attempt_at=timezone.now())
    page = browser_page.new_page()
    _login(page, live_server, operator)
    page.goto(live_server.url + reverse(CHANGELIST))
    page.evaluate("window.__notReloaded = true")
    page.check(f'input.action-select[value="{other.pk}"]')

    CedulaInfo.objects.filter(pk=row.pk).update(
        status=Status.ACTIVE, next_attempt_at=None, last_checked=timezone.now(), departamento="CAUCA"
    )

    cell = page.locator(f'tr:has(input[value="{row.pk}"]) td.field-status_badge')
    cell.filter(has_text="Vigente").wait_for(timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.is_checked(f'input.action-select[value="{other.pk}"]')


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_row_page_in_flight_shows_its_answer_when_it_arrives(live_server, browser_page, staff_in, cedula_factory):
    viewer = staff_in("Operadores")
    row = cedula_factory(cedula="55555555", next_attempt_at=timezone.now())
    page = browser_page.new_page()
    _login(page, live_server, viewer)
    page.goto(live_server.url + reverse("admin:cedula_cedulainfo_change", args=[row.pk]))
    assert page.locator("[data-live-state]").count() == 1

    CedulaInfo.objects.filter(pk=row.pk).update(status=Status.NOT_FOUND, next_attempt_at=None)

    page.locator('[data-row-state="not_found"]').wait_for(timeout=15_000)
