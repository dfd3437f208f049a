"""The status card in a real browser: it polls /estado.json and rewrites itself in place when the lookup ends.

The row is moved by the test here (as the worker would); test_journey.py runs the real worker and stand-in site.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cedula.models import CedulaInfo, ErrorKind, Status
from ops.accounts.models import RefreshRequest
from tests.helpers.public import ACTIVE_FIELDS, settle

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POLL_WAIT_MS = 15_000  # the card polls every 10 s


def log_in(phone, live_server, email="ana@example.com", password="clave-segura-123"):
    phone.goto(f"{live_server.url}/ingresar/")
    phone.get_by_label("Correo electrónico").fill(email)
    phone.get_by_label("Contraseña").fill(password)
    phone.get_by_role("button", name="Ingresar").click()
    phone.wait_for_url(f"{live_server.url}/")


def test_the_result_replaces_the_spinner_without_a_reload(live_server, phone, person):
    log_in(phone, live_server)
    spinner = phone.locator("[data-panel=checking]")
    expect(spinner).to_be_visible()
    expect(spinner).to_contain_text("Verificando tu cédula…")
    expect(phone.get_by_role("button", name="Actualizar datos")).to_be_disabled()
    phone.evaluate("window.__sameDocument = true")

    settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)

    active = phone.locator("[data-panel=active]")
    expect(active).to_be_visible(timeout=POLL_WAIT_MS)
    expect(spinner).to_be_hidden()
    for value in ACTIVE_FIELDS.values():
        expect(active).to_contain_text(value)
    expect(phone.locator("[data-panel=last_checked]")).to_contain_text("Última verificación:")
    expect(phone.get_by_role("button", name="Actualizar datos")).to_be_enabled()
    assert phone.evaluate("window.__sameDocument") is True


def test_a_refresh_shows_the_spinner_over_the_last_result_then_the_new_one(live_server, phone, person):
    info = settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)
    log_in(phone, live_server)
    phone.goto(f"{live_server.url}/perfil/")

    phone.get_by_role("button", name="Actualizar datos").click()

    expect(phone.get_by_text("Pedimos una nueva verificación")).to_be_visible()
    expect(phone.locator("[data-panel=checking]")).to_be_visible()
    expect(phone.locator("[data-panel=active]")).to_contain_text(ACTIVE_FIELDS["puesto"])
    expect(phone.get_by_role("button", name="Actualizar datos")).to_be_disabled()
    expect(phone.locator("[data-field=refresh_message]")).to_contain_text("cuando termine")

    settle(info, Status.ACTIVE, **{**ACTIVE_FIELDS, "mesa": "021"})

    expect(phone.locator("[data-panel=checking]")).to_be_hidden(timeout=POLL_WAIT_MS)
    expect(phone.locator("[data-field=mesa]")).to_have_text("021")
    # Within the hour the button stays off and says until when.
    expect(phone.get_by_role("button", name="Actualizar datos")).to_be_disabled()
    # An hour after the click: "hoy", or "mañana" when that hour crosses Bogotá's midnight.
    asked = RefreshRequest.objects.get(user=person).requested_at
    again = timezone.localtime(asked + dt.timedelta(hours=1))
    day = "hoy" if again.date() == timezone.localtime(asked).date() else "mañana"
    expect(phone.locator("[data-field=refresh_message]")).to_contain_text(f"Podrás volver a hacerlo {day} a la")


def test_an_error_arriving_by_polling_shows_no_internals(live_server, phone, person):
    log_in(phone, live_server)
    expect(phone.locator("[data-panel=checking]")).to_be_visible()

    settle(
        CedulaInfo.objects.get(user=person),
        Status.ERROR,
        last_error="The requested URL was rejected. Your support ID is: 9988776655",
        error_kind=ErrorKind.BLOCKED,
    )

    expect(phone.locator("[data-panel=error]")).to_be_visible(timeout=POLL_WAIT_MS)
    body = phone.locator("body").inner_text()
    assert "No pudimos verificar tu cédula en este momento." in body
    for secret in ("rejected", "support", "9988776655", "blocked", "Bloqueado"):
        assert secret not in phone.content()


def test_the_pages_fit_a_phone_screen(live_server, phone, person):
    settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)
    log_in(phone, live_server)

    for path in ("/", "/perfil/", "/salir/"):
        if path == "/salir/":
            phone.get_by_role("button", name="Salir").click()
            phone.goto(f"{live_server.url}/registro/")
        else:
            phone.goto(f"{live_server.url}{path}")
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, path
