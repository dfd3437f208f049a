""" "Consultando ahora": what the worker is doing this second. The steps come from the real worker (a `qcluster`
process, real Chromium, the stand-in with its captcha and solver); the page, the dashboard panel and the Django-Q2
task pages read them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula import worker_now
from cedula.models import LookupAttempt, Priority, Status
from cedula.registry.simulator.outcomes import demo_cedulas
from tests.helpers.queue import all_settled, queue, wait_until

pytestmark = pytest.mark.serial  # step times and turn waits measured in seconds: make test runs these alone

PAGE = "admin:cedula_working_now"


def _steps(html: str) -> list[str]:
    return re.findall(r'data-testid="working-row-\d+" data-step="(\w*)"', html)


@pytest.mark.django_db
def test_the_page_lists_held_rows_with_their_step_what_comes_next_and_the_last_lookups(
    admin_client, cedula_factory, attempt_factory
):
    now = timezone.now()
    held = cedula_factory(cedula="1162634974", claimed_at=now - dt.timedelta(seconds=7), claimed_by="host:1",
                          next_attempt_at=now, attempts=2)  # fmt: skip
    worker_now.begin(cedula_id=held.pk, attempt=2, worker="host:1")
    worker_now.step("captcha")
    cedula_factory(cedula="52000001", next_attempt_at=now - dt.timedelta(minutes=1), priority=Priority.BULK)
    cedula_factory(cedula="52000002", next_attempt_at=now - dt.timedelta(minutes=2), priority=Priority.INTERACTIVE)
    cedula_factory(cedula="52000003", next_attempt_at=now + dt.timedelta(hours=1))  # not due: not next
    done = cedula_factory(cedula="79000001", status=Status.ACTIVE)
    attempt_factory(done, outcome="active", duration_ms=9400, wait_ms=5000)

    html = admin_client.get(reverse(PAGE)).content.decode()

    assert _steps(html) == ["captcha"] and "Esperando la solución del captcha" in html
    assert "1.162.634.974" in html and re.search(r'data-testid="working-elapsed"[^>]*>\s*7,\d s', html)
    upcoming = re.search(r'data-testid="working-next">(.*?)</ol>', html, re.S).group(1)
    assert upcoming.index("52.000.002") < upcoming.index("52.000.001") and "52.000.003" not in upcoming
    assert re.search(r'data-testid="working-own"[^>]*>4,4 s<', html) and re.search(
        r'data-testid="working-wait"[^>]*>5,0 s<', html
    )
    assert 'hx-trigger="every 5s' in html

    worker_now.end(cedula_id=held.pk)
    type(held).objects.filter(pk=held.pk).update(claimed_at=None)
    assert _steps(admin_client.get(reverse(PAGE)).content.decode()) == []


@pytest.mark.django_db
def test_the_attempts_list_shows_durations_with_units_and_the_turn_wait_apart(
    admin_client, cedula_factory, attempt_factory
):
    row = cedula_factory(status=Status.ACTIVE)
    attempt_factory(row, outcome="active", duration_ms=9400, wait_ms=5000)

    html = admin_client.get(reverse("admin:cedula_lookupattempt_changelist")).content.decode()

    assert "4,4 s (más 5,0 s de espera de turno)" in html and "(ms)" not in html


@pytest.mark.django_db
def test_the_dashboard_has_the_panel_and_a_link_to_the_page(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert 'data-testid="working-now"' in html and reverse(PAGE) in html
    assert "Ninguna cédula en consulta en este momento." in html


@pytest.mark.django_db
def test_a_staff_account_without_the_role_may_not_open_it(client, user_factory):
    client.force_login(user_factory(is_staff=True))

    assert client.get(reverse(PAGE)).status_code == 403


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reports_its_steps_and_the_wait_for_its_turn_apart(
    start_worker, registry_site_factory, settings, admin_client, tmp_path
):
    # This page reads the worker's cache: Redis on the scale-out profile, else its CACHE_DIR (tests/helpers/worker.py).
    if settings.Q_REDIS_URL:
        worker_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.Q_REDIS_URL}
    else:
        worker_cache = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    settings.CACHES = {"default": worker_cache}
    site = registry_site_factory(min_gap_s=0.0, captcha=True)
    site.set_solver(solve_delay_s=1.5)
    solver = {"CAPTCHA_SOLVER": "2captcha", "CAPTCHA_API_URL": site.base_url, "CAPTCHA_API_KEY": site.solver_key}
    settings.REGISTRY_MIN_GAP_S = 3
    ids = queue(sorted(demo_cedulas())[:3])

    start_worker(registry_url=site.url, REGISTRY_MIN_GAP_S="3", **solver)
    seen: set[str] = set()

    def watch() -> bool:
        seen.update(_steps(admin_client.get(reverse(PAGE)).content.decode()))
        return all_settled(ids)

    wait_until(watch, timeout=150, interval=0.2, message="the lookups did not settle")

    assert seen & {"page", "captcha", "slot", "answer"}, seen
    attempts = list(LookupAttempt.objects.filter(cedula_id__in=ids).order_by("started_at"))
    assert len(attempts) == 3
    # After the first, each lookup waited for its turn (3 s apart): that wait is recorded apart from its own time.
    assert all(a.wait_ms <= a.duration_ms for a in attempts)
    assert max(a.wait_ms for a in attempts[1:]) >= 500, [(a.duration_ms, a.wait_ms) for a in attempts]
    # Django-Q2's own pages: the task in words, the cedula it looked up, durations with their unit.
    tasks = admin_client.get(reverse("admin:django_q_success_changelist")).content.decode()
    assert "Consulta al registro" in tasks and "cedula.tasks" not in tasks
    grouped = [f"{int(a.cedula.cedula):,}".replace(",", ".") for a in attempts]
    assert all(g in tasks for g in grouped), grouped
    assert re.search(r">\s*\d+(,\d)? s\s*<", tasks)
