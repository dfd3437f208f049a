"""A batch's page tells the truth as work runs: error kinds add up to the Error count, a row's last result is its
last attempt, the ETA counts the retries the batch has needed, a finished batch says when and at what cost and offers
only buttons that still do something, and the page reloads itself while work is left."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula import selectors
from cedula.models import Status

pytestmark = pytest.mark.django_db


def _page(client, batch):
    response = client.get(reverse("admin:cedula_importbatch_change", args=[batch.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _count(html, testid):
    match = re.search(rf'data-testid="{testid}">([\d.]+)<', html)
    return int(match.group(1).replace(".", "")) if match else None


def _buttons(html):
    return set(re.findall(r'data-testid="batch-action-([a-z_]+)"', html))


def test_error_kinds_add_up_to_the_error_count_and_retries_are_apart(admin_client, cedula_factory, batch_factory):
    batch = batch_factory()
    soon = timezone.now() + dt.timedelta(minutes=5)
    for kind in ("timeout", "network", "blocked", "captcha"):  # failed once, each waits for its retry
        cedula_factory(import_batch=batch, status=Status.PENDING, error_kind=kind, attempts=1, next_attempt_at=soon)
    cedula_factory(import_batch=batch, status=Status.ERROR, error_kind="timeout")

    html = _page(admin_client, batch)

    assert _count(html, "batch-count-error") == 1
    kinds = re.findall(r'data-testid="batch-error-(\w+)">(\d+)<', html)
    assert kinds == [("timeout", "1")]  # the one row in error, not the four waiting for a retry
    retries = dict(re.findall(r'data-testid="batch-retry-(\w+)">(\d+)<', html))
    assert retries == {"timeout": "1", "network": "1", "blocked": "1", "captcha": "1"}


def test_a_row_whose_retries_keep_failing_shows_its_last_attempt_as_last_result(
    admin_client, cedula_factory, attempt_factory
):
    row = cedula_factory(status=Status.PENDING, attempts=3, error_kind="timeout",
                         next_attempt_at=timezone.now() + dt.timedelta(minutes=2),
                         last_checked=timezone.now())  # fmt: skip
    for n in (1, 2, 3):
        attempt_factory(row, error_kind="timeout", attempt=n, started_at=timezone.now() - dt.timedelta(minutes=4 - n))

    html = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[row.pk])).content.decode()

    field = re.search(r"último resultado.*?<div[^>]*readonly[^>]*>(.*?)</div>", html, re.S | re.I)
    assert field, "no «último resultado» field"
    text = re.sub(r"\s+", " ", field.group(1))
    assert "Error · Tiempo agotado" in text and "Pendiente" not in text


def test_the_eta_counts_the_retries_the_batch_has_needed(cedula_factory, batch_factory, attempt_factory, settings):
    settings.REGISTRY_MIN_GAP_S = 10
    batch = batch_factory()
    now = timezone.now()
    # Ten rows done, each needed two lookups (a failed first attempt, then the answer).
    for _ in range(10):
        row = cedula_factory(import_batch=batch, status=Status.ACTIVE, last_checked=now)
        attempt_factory(row, attempt=1, started_at=now - dt.timedelta(minutes=3))
        attempt_factory(row, outcome="active", attempt=2, started_at=now - dt.timedelta(minutes=2))
    for _ in range(20):
        cedula_factory(import_batch=batch, next_attempt_at=now - dt.timedelta(seconds=1))

    work = selectors.batch_work(batch_id=batch.pk)
    per_row = selectors.batch_lookups_per_row(batch_id=batch.pk, now=now)
    plain = selectors.batch_eta(batch_id=batch.pk, now=now)
    counted = selectors.batch_eta(batch_id=batch.pk, now=now, per_row=per_row)

    assert (work.lookups, work.retries, work.rows_tried, work.per_row) == (20, 10, 10, 2.0)
    assert per_row == 2.0
    # An hour later with nothing new, the recent evidence is gone: back to one lookup a row.
    assert selectors.batch_lookups_per_row(batch_id=batch.pk, now=now + dt.timedelta(hours=2)) == 1.0
    assert plain.lookups == 20 and counted.lookups == 40
    assert counted.finish_at - plain.finish_at >= dt.timedelta(seconds=20 * 10 * 0.9)


def test_a_system_failure_is_not_counted_as_a_retry_the_rows_will_need(cedula_factory, batch_factory, attempt_factory):
    batch = batch_factory()
    for _ in range(6):
        row = cedula_factory(import_batch=batch, status=Status.ACTIVE)
        attempt_factory(row, error_kind="network", cause="registry_down")
        attempt_factory(row, outcome="active")

    assert selectors.batch_work(batch_id=batch.pk).per_row == 1.0
    assert selectors.batch_lookups_per_row(batch_id=batch.pk) == 1.0


def test_a_finished_batch_says_when_how_long_and_what_it_used_and_offers_no_dead_button(
    admin_client, cedula_factory, batch_factory, attempt_factory
):
    batch = batch_factory(total_rows=3)
    start = batch.created_at
    for i in range(3):
        row = cedula_factory(import_batch=batch, status=Status.ACTIVE, last_checked=start)
        attempt_factory(row, outcome="active", attempt=1, started_at=start + dt.timedelta(minutes=i + 1))
    attempt_factory(row, outcome="error", attempt=1, started_at=start + dt.timedelta(seconds=30))
    attempt_factory(row, outcome="active", attempt=2, started_at=start + dt.timedelta(minutes=5))

    html = _page(admin_client, batch)

    finished = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.split('data-testid="batch-eta"')[1][:1500]))
    end = timezone.localtime(start + dt.timedelta(minutes=5))
    assert f"Terminado el {end:%d/%m/%Y} a las {end:%H:%M}" in finished
    assert "duró 5 min" in finished and "5 consultas al registro" in finished and "1 reintento" in finished
    assert _buttons(html) == set()  # nothing left to retry, pause, move or cancel
    assert 'data-live="1"' not in html  # a finished batch stops polling


def test_a_running_batch_offers_what_applies_and_reloads_itself(admin_client, cedula_factory, batch_factory):
    batch = batch_factory()
    cedula_factory(import_batch=batch, next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    cedula_factory(import_batch=batch, status=Status.ERROR, error_kind="timeout")

    html = _page(admin_client, batch)

    assert _buttons(html) == {"retry_errors", "pause", "move_ahead", "move_behind", "cancel"}
    live = reverse("admin:cedula_importbatch_live", args=[batch.pk])
    assert 'data-live="1"' in html and f'hx-get="{live}"' in html
    fragment = admin_client.get(live).content.decode()
    assert 'data-testid="batch-page"' in fragment and _count(fragment, "batch-count-error") == 1


def test_the_live_fragment_follows_the_rows_and_is_for_staff_only(client, admin_client, cedula_factory, batch_factory):
    batch = batch_factory()
    row = cedula_factory(import_batch=batch, next_attempt_at=timezone.now())
    live = reverse("admin:cedula_importbatch_live", args=[batch.pk])
    assert _count(admin_client.get(live).content.decode(), "batch-count-queued") == 1

    type(row).objects.filter(pk=row.pk).update(status=Status.ACTIVE, next_attempt_at=None, last_checked=timezone.now())

    assert _count(admin_client.get(live).content.decode(), "batch-count-active") == 1
    assert client.get(live).status_code == 302  # anonymous: to the login page


def test_a_batch_confirmation_names_its_batch(admin_client, cedula_factory, batch_factory):
    batch = batch_factory(file_name="censo-sur.xlsx", total_rows=1)
    cedula_factory(import_batch=batch, next_attempt_at=timezone.now())

    html = admin_client.get(reverse("admin:cedula_importbatch_action", args=[batch.pk, "cancel"])).content.decode()

    scope = re.search(r'data-testid="confirm-scope">(.*?)</p>', html, re.S).group(1)
    assert "censo-sur.xlsx" in scope and "Sin filtros" not in html
    assert "Se modificará <strong" in html and "1</strong> cédula." in html


def test_a_schedule_s_run_now_dialog_and_message_name_the_task_in_staff_words(admin_client):
    from django_q.models import Schedule

    schedule = Schedule.objects.create(name="lookups-dispatch", func="cedula.tasks.dispatch", schedule_type="I",
                                       minutes=1)  # fmt: skip
    url = reverse("admin:django_q_schedule_run_now", args=[schedule.pk])

    dialog = admin_client.get(url).content.decode()
    done = admin_client.post(url, {"_form_submitted": "on"}, follow=True).content.decode()

    assert 'value="Reparto de consultas (red de seguridad) (Cada minuto)"' in dialog
    assert "«Reparto de consultas (red de seguridad)» en cola para ejecutarse ahora." in done
    assert "lookups-dispatch" not in dialog + done


def test_a_row_s_lookup_now_dialog_names_its_cedula(admin_client, cedula_factory):
    row = cedula_factory(cedula="1162634974", status=Status.ACTIVE)

    dialog = admin_client.get(reverse("admin:cedula_cedulainfo_lookup_now", args=[row.pk])).content.decode()

    assert 'value="1.162.634.974 (vigente)"' in dialog
