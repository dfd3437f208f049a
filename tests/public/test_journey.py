"""The whole public journey: a person registers in a real browser, sees the spinner, and the answer of the stand-in
registry (looked up by a real `qcluster` worker in real Chromium) appears on the page without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cedula.models import CedulaInfo, Priority, Source, Status
from cedula.registry.simulator.outcomes import demo_cedulas

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WORKER_WAIT_MS = 120_000  # worker start-up, a Chromium, one lookup, then the next 10 s poll


def an_active_demo_person() -> tuple[str, object]:
    cedula, outcome = next((c, o) for c, o in sorted(demo_cedulas().items()) if o.status == "active")
    return cedula, outcome


def test_a_person_registers_and_sees_their_polling_place_appear(live_server, phone, start_worker):
    cedula, expected = an_active_demo_person()
    grouped = f"{int(cedula):,}".replace(",", ".")  # people type "1.234.567"

    phone.goto(f"{live_server.url}/registro/")
    phone.get_by_label("Correo electrónico").fill("votante@example.com")
    phone.get_by_label("Número de cédula").fill(grouped)
    phone.get_by_label("Contraseña", exact=True).fill("una-clave-larga-7")
    phone.get_by_label("Repite la contraseña").fill("una-clave-larga-7")
    phone.get_by_role("button", name="Registrarme").click()

    phone.wait_for_url(f"{live_server.url}/")
    spinner = phone.locator("[data-panel=checking]")
    expect(spinner).to_be_visible()
    expect(spinner).to_contain_text("Verificando tu cédula…")
    info = CedulaInfo.objects.get(cedula=cedula)
    assert (info.status, info.priority, info.source) == (Status.PENDING, Priority.INTERACTIVE, Source.REGISTRATION)
    phone.evaluate("window.__sameDocument = true")

    # The worker starts only now, so the spinner is seen for certain before the answer exists.
    start_worker()

    active = phone.locator("[data-panel=active]")
    expect(active).to_be_visible(timeout=WORKER_WAIT_MS)
    expect(spinner).to_be_hidden()
    for field in ("departamento", "municipio", "puesto", "direccion", "mesa"):
        expect(phone.locator(f"[data-field={field}]")).to_have_text(getattr(expected, field))
    expect(phone.locator("[data-panel=last_checked]")).to_contain_text("Última verificación:")
    expect(phone.get_by_role("button", name="Actualizar datos")).to_be_enabled()
    assert phone.evaluate("window.__sameDocument") is True  # updated in place, never reloaded
    assert CedulaInfo.objects.get(cedula=cedula).status == Status.ACTIVE
