"""Issue 18 on the public site: the welcome message gives way to the result, a cancelled cedula gets a next step,
the profile names a contact."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cedula.models import CedulaInfo, Status
from tests.helpers.public import ACTIVE_FIELDS, CANCELLED_FIELDS, settle

POLL_WAIT_MS = 15_000


@pytest.mark.django_db
def test_a_cancelled_cedula_gets_a_respectful_next_step(client, person, settings):
    settings.REGISTRADURIA_HELP_URL = "https://ayuda.registraduria.example/"
    settle(CedulaInfo.objects.get(user=person), Status.CANCELLED, **CANCELLED_FIELDS)
    client.force_login(person)

    html = " ".join(client.get("/").content.decode().split())

    assert "Registraduría del Estado Civil" in html
    assert 'href="https://ayuda.registraduria.example/"' in html


@pytest.mark.django_db
def test_the_profile_names_the_contact_from_the_setting(client, person, settings):
    settings.SUPPORT_EMAIL = "ayuda@cedulas.example"
    client.force_login(person)

    html = client.get("/perfil/").content.decode()

    assert 'href="mailto:ayuda@cedulas.example"' in html


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_account_created_message_goes_once_the_result_arrives(live_server, phone):
    phone.goto(f"{live_server.url}/registro/")
    phone.get_by_label("Correo electrónico").fill("luz@example.com")
    phone.get_by_label("Cédula").fill("52.999.888")
    for field in phone.locator('input[type="password"]').all():
        field.fill("clave-segura-123")
    phone.locator('form [type="submit"]').last.click()
    phone.wait_for_url(f"{live_server.url}/")
    welcome = phone.get_by_text("Cuenta creada")
    expect(welcome).to_be_visible()

    settle(CedulaInfo.objects.get(cedula="52999888"), Status.ACTIVE, **ACTIVE_FIELDS)

    expect(phone.locator("[data-panel=active]")).to_be_visible(timeout=POLL_WAIT_MS)
    expect(welcome).to_have_count(0)


@pytest.mark.django_db
def test_the_public_pages_show_the_cedula_grouped(client, person):
    client.force_login(person)

    for path in ("/", "/perfil/"):
        assert "52.123.456" in client.get(path).content.decode()
