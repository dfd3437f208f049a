"""Screenshots of the console and the public page at desk and phone widths (var/screenshots/), in a real Chromium.

    .venv/bin/pytest tests/console/test_screenshots.py

Besides the pictures for a person to look at, each page is checked for what a screenshot once showed wrong: no
sideways scroll at 1440 px (the error filter caused one), and no English or raw tuple on screen.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula.models import CedulaInfo, ImportBatch, LookupAttempt, SourceInUse, Status
from tests.helpers.browser import SCREENSHOTS, WIDTHS
from tests.helpers.public import ACTIVE_FIELDS
from tests.helpers.spanish import developer_text_in, english_in

pytestmark = [pytest.mark.integration, pytest.mark.screens, pytest.mark.django_db(transaction=True)]

OUT = SCREENSHOTS


def _demo_rows(admin_user) -> dict[str, int]:
    now = timezone.now()
    batch = ImportBatch.objects.create(file_name="padron-norte.csv", created_by=admin_user, total_rows=6, new_rows=6)
    ImportBatch.objects.create(file_name="repetidas.csv", created_by=admin_user, total_rows=3, existing_rows=3)
    rows = []
    for i, (status, extra) in enumerate(
        [
            (Status.ACTIVE, ACTIVE_FIELDS),
            (Status.ACTIVE, ACTIVE_FIELDS),
            (Status.CANCELLED, {"novedad": "Cancelada por muerte", "resolucion": "0023"}),
            (Status.NOT_FOUND, {}),
            (Status.ERROR, {"error_kind": "timeout", "last_error": "Sin respuesta del registro en 20 s"}),
            (Status.PENDING, {"next_attempt_at": now}),
        ]
    ):
        rows.append(
            CedulaInfo.objects.create(
                cedula=str(1_098_765_430 + i), status=status, import_batch=batch, last_checked=now, **extra
            )
        )
    retry = CedulaInfo.objects.create(
        cedula="52123456", status=Status.ERROR, error_kind="blocked", next_attempt_at=now - dt.timedelta(seconds=20),
        attempts=1,
    )  # fmt: skip
    long_message = (
        "La página del censo respondió con un formulario distinto del esperado: falta el campo de la cédula y el"
        " botón de consulta; puede que la Registraduría haya cambiado su sitio o que haya un mantenimiento en curso."
    )
    for n, row in enumerate([rows[4], retry, rows[4]]):
        LookupAttempt.objects.create(
            cedula=row, started_at=now - dt.timedelta(minutes=5 + n), outcome="error", error_kind="unexpected_page",
            message=long_message, attempt=n + 1, snapshot="<html><body><form>***3434</form>" + "<p>texto</p>" * 80,
        )  # fmt: skip
    LookupAttempt.objects.create(
        cedula=rows[0], started_at=now - dt.timedelta(minutes=2), outcome="active", duration_ms=9400, wait_ms=5000,
        task_id="a" * 32,
    )  # fmt: skip
    from django_q.models import Failure, Schedule, Success

    Success.objects.create(
        id="a" * 32, name="lookup_next-12", func="cedula.tasks.lookup_next", started=now - dt.timedelta(minutes=2),
        stopped=now - dt.timedelta(minutes=2) + dt.timedelta(seconds=9.6), success=True, result=1,
    )  # fmt: skip
    for name, func, minutes in (("lookups-dispatch", "cedula.tasks.dispatch", 1),
                                ("retention-purge", "cedula.tasks.retention_purge", 24 * 60)):  # fmt: skip
        Schedule.objects.create(name=name, func=func, schedule_type=Schedule.MINUTES, minutes=minutes)

    Failure.objects.create(
        id="b" * 32, name="lookup-next", func="cedula.tasks.lookup_next", started=now - dt.timedelta(seconds=95),
        stopped=now, success=False, result="Traceback (most recent call last): TimeoutError: navegador sin respuesta",
    )  # fmt: skip
    # The census page changed an hour ago: the work is on the second source (issue 22's card and alerts row).
    SourceInUse.objects.create(
        pk=1, current="consultacenso", reason=SourceInUse.Reason.PAGE_CHANGED, switches=1,
        detail="3 de sus últimas 5 consultas dieron una página desconocida", since=now - dt.timedelta(hours=1),
        next_probe_at=now + dt.timedelta(minutes=4), last_probe_at=now - dt.timedelta(minutes=6),
        last_probe_said="La página del registro (wsp) no tiene el formulario de consulta.",
    )  # fmt: skip
    LookupAttempt.objects.filter(pk=rows[0].lookup_attempts.first().pk).update(source="consultacenso")
    return {"error_row": rows[4].pk, "batch": batch.pk}


def test_screenshots_of_every_screen_at_desk_and_phone_width(
    live_server, chromium, admin_user, user_factory, tmp_path, settings
):
    OUT.mkdir(parents=True, exist_ok=True)
    settings.REGISTRY_SOURCES = ("wsp", "consultacenso")
    ids = _demo_rows(admin_user)
    person = user_factory(cedula="1098765430", email="ana@example.com")
    CedulaInfo.objects.filter(cedula="1098765430").update(user=person)
    csv = tmp_path / "lote.csv"
    csv.write_text("cedula\n1.234.567\n52.123.456\nabc\n1.234.567\n", encoding="utf-8")
    pages = {
        "dashboard": reverse("admin:index"),
        "list": reverse("admin:cedula_cedulainfo_changelist") + "?error_kind__exact=timeout&status__exact=error",
        "detail": reverse("admin:cedula_cedulainfo_change", args=[ids["error_row"]]),
        "attempts": reverse("admin:cedula_lookupattempt_changelist"),
        "batch": reverse("admin:cedula_importbatch_change", args=[ids["batch"]]),
        "failures": reverse("admin:django_q_failure_changelist"),
        "tasks": reverse("admin:django_q_success_changelist"),
        "schedules": reverse("admin:django_q_schedule_changelist"),
        "working-now": reverse("admin:cedula_working_now"),
        "importaciones": reverse("admin:cedula_importbatch_changelist"),
        "confirm-filter": reverse("admin:cedula_cedulainfo_filter_action", args=["reset_pending"])
        + f"?status__exact=error&import_batch__id__exact={ids['batch']}&q=1098",
        "confirm-batch": reverse("admin:cedula_importbatch_action", args=[ids["batch"], "retry_errors"]),
        "search-1098": reverse("admin:cedula_cedulainfo_changelist") + "?q=1098",
    }
    problems: list[str] = []
    for width, (w, h) in WIDTHS.items():
        context = chromium.new_context(viewport={"width": w, "height": h}, locale="es-CO")
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.goto(live_server.url + reverse("admin:login"))
        page.screenshot(path=str(OUT / f"login-{width}.png"), full_page=True)
        page.fill('input[name="username"]', admin_user.email)
        page.fill('input[name="password"]', "password")
        page.click('[type="submit"]')
        page.wait_for_url(f"{live_server.url}/admin/**")
        for name, path in pages.items():
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / f"{name}-{width}.png"), full_page=True)
            if name == "dashboard":  # the panels a phone shows narrowest, one picture each
                for panel in ("alerts-panel", "working-now", "status-cards", "registry-source"):
                    page.locator(f'[data-testid="{panel}"]').screenshot(path=str(OUT / f"panel-{panel}-{width}.png"))
            problems += [f"{name}@{width}: {p}" for p in english_in(page.content())]
            problems += [f"{name}@{width}: {p}" for p in developer_text_in(page.content())]
            # At a desk nothing scrolls sideways; on a phone only a wide table does, inside its own box.
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                problems.append(f"{name}@{width}: the page scrolls sideways by {overflow} px")
        if width == "1440":
            # The sidebar search finds a cedula (the phone's menu hides it behind its button).
            page.goto(live_server.url + reverse("admin:index"))
            page.locator("#nav-filter").press_sequentially("1098", delay=50)  # htmx asks on keyup
            page.locator("a[href*='/cedulainfo/']:has-text('Cédula 1.098.765.43')").first.wait_for()
            page.screenshot(path=str(OUT / f"sidebar-search-{width}.png"))
        page.goto(live_server.url + reverse("admin:cedula_cedulainfo_import"))
        page.set_input_files('input[name="import_file"]', str(csv))
        page.locator('form:has(input[name="import_file"]) [type="submit"]').click()
        page.wait_for_selector("#import-preview")
        page.screenshot(path=str(OUT / f"import-{width}.png"), full_page=True)
        problems += [f"import@{width}: {p}" for p in english_in(page.content())]
        page.goto(live_server.url + reverse("admin:index"))
        page.locator('[data-testid="breaker-switch"]').click()
        page.wait_for_selector('input[name="reason"]')
        page.screenshot(path=str(OUT / f"pause-dialog-{width}.png"))
        context.close()

        public = chromium.new_context(viewport={"width": w, "height": h}, locale="es-CO")
        phone = public.new_page()
        phone.goto(f"{live_server.url}/ingresar/")
        phone.get_by_label("Correo electrónico").fill("ana@example.com")
        phone.get_by_label("Contraseña").fill("clave-segura-123")
        phone.get_by_role("button", name="Ingresar").click()
        phone.wait_for_url(f"{live_server.url}/")
        phone.screenshot(path=str(OUT / f"public-home-{width}.png"), full_page=True)
        phone.goto(f"{live_server.url}/perfil/")
        phone.screenshot(path=str(OUT / f"public-profile-{width}.png"), full_page=True)
        public.close()

    assert problems == [], "\n".join(problems)
