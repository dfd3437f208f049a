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

from cedula.models import CedulaInfo, ImportBatch, LookupAttempt, Status
from tests.helpers.browser import SCREENSHOTS, WIDTHS
from tests.helpers.public import ACTIVE_FIELDS
from tests.helpers.spanish import english_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

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
    LookupAttempt.objects.create(cedula=rows[0], started_at=now - dt.timedelta(minutes=2), outcome="active")
    from django_q.models import Failure

    Failure.objects.create(
        id="b" * 32, name="lookup-next", func="cedula.tasks.lookup_next", started=now - dt.timedelta(seconds=95),
        stopped=now, success=False, result="Traceback (most recent call last): TimeoutError: navegador sin respuesta",
    )  # fmt: skip
    return {"error_row": rows[4].pk, "batch": batch.pk}


def test_screenshots_of_every_screen_at_desk_and_phone_width(live_server, chromium, admin_user, user_factory, tmp_path):
    OUT.mkdir(parents=True, exist_ok=True)
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
            problems += [f"{name}@{width}: {p}" for p in english_in(page.content())]
            if width == "1440":
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                if overflow > 0:
                    problems.append(f"{name}@{width}: scrolls sideways by {overflow} px")
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

    assert problems == []
