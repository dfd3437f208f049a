"""Home, profile and the refresh button, rendered by the server (the script only repeats what these show)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from cedula.models import CedulaInfo, ErrorKind, Priority, Source, Status
from ops.accounts.models import RefreshRequest
from tests.helpers.public import ACTIVE_FIELDS, CANCELLED_FIELDS, settle

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 3, 14, 17, 0, tzinfo=dt.UTC)  # 12:00 p. m. in Bogotá


def visible_text(html: str, panel: str) -> bool:
    """Whether the [data-panel=panel] element is rendered without the hidden attribute."""
    marker = f'data-panel="{panel}"'
    start = html.index(marker)
    tag = html[start : html.index(">", start)]
    return " hidden" not in tag


@pytest.mark.parametrize("url", ["/", "/perfil/"])
def test_the_pages_ask_anonymous_visitors_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/ingresar/")


@pytest.mark.parametrize("url", ["/", "/perfil/"])
def test_a_pending_lookup_shows_the_spinner_and_loads_the_polling_script(client, person, url):
    client.force_login(person)

    html = client.get(url).content.decode()

    assert "Verificando tu cédula…" in html
    assert visible_text(html, "checking")
    assert 'data-checking="true"' in html
    assert 'data-status-url="/estado.json"' in html
    assert '<script src="/static/accounts/status.js" defer></script>' in html
    assert "<script>" not in html  # no inline script: a strict CSP needs no exception
    assert '<button type="submit" data-refresh-button disabled>Actualizar datos</button>' in html


def test_an_active_cedula_shows_the_polling_place_and_when_it_was_checked(client, person):
    settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, checked_at=NOON, **ACTIVE_FIELDS)
    client.force_login(person)

    html = client.get("/").content.decode()

    assert visible_text(html, "active")
    assert not visible_text(html, "checking")
    for value in ACTIVE_FIELDS.values():
        assert value in html
    assert "Última verificación" in html
    assert "14/03/2025 12:00 p. m." in html
    assert '<button type="submit" data-refresh-button>Actualizar datos</button>' in html


def test_a_cancelled_cedula_shows_the_novedad_resolucion_and_fecha(client, person):
    settle(CedulaInfo.objects.get(user=person), Status.CANCELLED, **CANCELLED_FIELDS)
    client.force_login(person)

    html = client.get("/").content.decode()

    assert visible_text(html, "cancelled")
    assert "Cancelada por Muerte" in html
    assert "0023" in html
    assert "04/03/2021" in html


def test_a_cedula_outside_the_census_is_explained(client, person):
    settle(CedulaInfo.objects.get(user=person), Status.NOT_FOUND)
    client.force_login(person)

    html = client.get("/").content.decode()

    assert visible_text(html, "not_found")
    assert "no aparece en el censo electoral" in html


def test_the_error_page_says_only_that_we_could_not_verify(client, person):
    settle(
        CedulaInfo.objects.get(user=person),
        Status.ERROR,
        last_error="Timeout 20000ms exceeded waiting for #success; support ID 1234567890",
        error_kind=ErrorKind.TIMEOUT,
        departamento="STALE DEPARTAMENTO",
    )
    client.force_login(person)

    html = client.get("/").content.decode()

    assert visible_text(html, "error")
    assert "No pudimos verificar tu cédula en este momento." in html
    for secret in ("Timeout", "20000", "#success", "support", "1234567890", "timeout", "Tiempo agotado", "STALE"):
        assert secret not in html, secret


def test_the_refresh_button_queues_a_lookup_and_then_explains_the_wait_in_bogota_time(client, person):
    settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, checked_at=NOON, **ACTIVE_FIELDS)
    client.force_login(person)

    with time_machine.travel(NOON, tick=False):
        response = client.post("/actualizar/", {"next": "/perfil/"}, follow=True)

    info = CedulaInfo.objects.get(user=person)
    assert response.redirect_chain == [("/perfil/", 302)]
    assert "Pedimos una nueva verificación" in response.content.decode()
    assert info.next_attempt_at == NOON
    assert (info.priority, info.source) == (Priority.INTERACTIVE, Source.REFRESH)

    settle(info, Status.ACTIVE, checked_at=NOON + dt.timedelta(minutes=1), **ACTIVE_FIELDS)
    with time_machine.travel(NOON + dt.timedelta(minutes=10), tick=False):
        html = client.get("/").content.decode()
        refused = client.post("/actualizar/", follow=True).content.decode()

    assert '<button type="submit" data-refresh-button disabled>Actualizar datos</button>' in html
    # 12:00 p. m. in Bogotá plus an hour, whatever the server's own time zone is.
    assert "Podrás volver a hacerlo hoy a la 1:00 p. m. (hora de Colombia)." in html
    assert "No pudimos pedir la actualización" in refused
    assert "hoy a la 1:00 p. m." in refused
    assert RefreshRequest.objects.filter(user=person).count() == 1


def test_the_sixth_refresh_of_a_day_is_refused_until_the_first_is_a_day_old(client, person):
    info = settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)
    client.force_login(person)
    start = NOON - dt.timedelta(hours=10)
    for i in range(5):
        with time_machine.travel(start + dt.timedelta(hours=2 * i), tick=False):
            client.post("/actualizar/")
        settle(info, Status.ACTIVE, **ACTIVE_FIELDS)

    with time_machine.travel(NOON + dt.timedelta(hours=1), tick=False):
        refused = client.post("/actualizar/", follow=True).content.decode()
    with time_machine.travel(start + dt.timedelta(days=1, seconds=1), tick=False):
        client.post("/actualizar/")

    assert "máximo por día" in refused
    assert "mañana a las 2:00 a. m." in refused  # 07:00 UTC on the 15th
    assert RefreshRequest.objects.filter(user=person).count() == 6


def test_the_refresh_ignores_a_next_url_on_another_site(client, person):
    settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)
    client.force_login(person)

    response = client.post("/actualizar/", {"next": "https://evil.example.com/"})

    assert response["Location"] == "/"


def test_the_refresh_requires_login_and_post(client, person):
    assert client.post("/actualizar/")["Location"].startswith("/ingresar/")
    client.force_login(person)
    assert client.get("/actualizar/").status_code == 405


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/actualizar/", {}),
        ("/perfil/", {"first_name": "Ana"}),
        ("/salir/", {}),
    ],
)
def test_every_form_of_a_logged_in_person_needs_the_csrf_token(person, url, data):
    settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)

    assert browser.post(url, data).status_code == 403
    assert not RefreshRequest.objects.exists()


def test_every_page_form_carries_a_csrf_token(client, person):
    client.force_login(person)

    for url in ("/", "/perfil/"):
        html = client.get(url).content.decode()
        assert html.count('method="post"') == html.count('name="csrfmiddlewaretoken"')


def test_a_person_cannot_read_or_refresh_another_persons_row(client, person, user_factory):
    other = user_factory(cedula="80111222", email="otro@example.com")
    other_row = settle(CedulaInfo.objects.get(user=other), Status.ACTIVE, puesto="PUESTO DEL OTRO", mesa="099")
    settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)
    client.force_login(person)

    pages = [client.get(f"/?user={other.pk}&cedula=80111222"), client.get(f"/perfil/?id={other_row.pk}")]
    client.post("/actualizar/", {"cedula": "80111222", "user": other.pk, "id": other_row.pk})

    for page in pages:
        assert "PUESTO DEL OTRO" not in page.content.decode()
        assert "80111222" not in page.content.decode()
    other_row.refresh_from_db()
    assert other_row.next_attempt_at is None
    assert not RefreshRequest.objects.filter(user=other).exists()
    assert CedulaInfo.objects.get(user=person).next_attempt_at is not None


def test_the_profile_has_no_cedula_field_and_ignores_one_posted(client, person):
    client.force_login(person)

    form = client.get("/perfil/").context["form"]
    response = client.post("/perfil/", {"first_name": "Ana", "last_name": "Gómez", "cedula": "99999999"})

    person.refresh_from_db()
    assert "cedula" not in form.fields
    assert response.status_code == 302
    assert (person.first_name, person.last_name, person.cedula) == ("Ana", "Gómez", "52123456")
    assert not CedulaInfo.objects.filter(cedula="99999999").exists()


def test_staff_can_change_a_cedula_in_the_console(admin_client, person):
    response = admin_client.get(f"/admin/accounts/user/{person.pk}/change/")

    assert response.status_code == 200
    assert "cedula" in response.context["adminform"].form.fields
