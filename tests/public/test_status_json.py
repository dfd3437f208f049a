"""/estado.json: the requesting user's own lookup, for the page's script. Never anyone else's, never internals."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cedula.models import CedulaInfo, ErrorKind, Status
from tests.helpers.public import ACTIVE_FIELDS, CANCELLED_FIELDS, settle

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 3, 14, 17, 0, tzinfo=dt.UTC)  # 12:00 p. m. in Bogotá
URL = "/estado.json"


def test_anonymous_requests_get_a_json_401_not_a_login_redirect(client):
    response = client.get(URL)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "authentication_required"}


def test_it_is_not_cached_and_only_answers_get(client, person):
    client.force_login(person)

    assert "no-cache" in client.get(URL)["Cache-Control"]
    assert client.post(URL).status_code == 405


def test_a_pending_lookup_reads_as_checking_with_refresh_disabled(client, person):
    client.force_login(person)

    data = client.get(URL).json()

    assert data["status"] == "pending"
    assert data["checking"] is True
    assert data["panels"] == ["checking"]
    assert data["result"] == {}
    assert data["refresh"]["allowed"] is False
    assert data["refresh"]["reason"] == "checking"


def test_an_active_result_carries_the_polling_place_and_last_checked(client, person):
    settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, checked_at=NOON, **ACTIVE_FIELDS)
    client.force_login(person)

    with time_machine.travel(NOON + dt.timedelta(hours=2), tick=False):
        data = client.get(URL).json()

    assert data["status"] == "active"
    assert data["checking"] is False
    assert data["result"] == ACTIVE_FIELDS
    assert data["last_checked"] == NOON.isoformat()
    assert data["last_checked_display"] == "14/03/2025 12:00 p. m."
    assert data["panels"] == ["active", "last_checked"]
    assert data["refresh"] == {
        "allowed": True,
        "reason": "allowed",
        "next_allowed_at": None,
        "next_allowed_display": "",
        "message": "",
    }


def test_a_cancelled_cedula_carries_the_novedad_with_resolucion_and_fecha(client, person):
    settle(CedulaInfo.objects.get(user=person), Status.CANCELLED, **CANCELLED_FIELDS)
    client.force_login(person)

    data = client.get(URL).json()

    assert data["result"] == {
        "novedad": "Cancelada por Muerte",
        "resolucion": "0023",
        "fecha_novedad": "2021-03-04",
        "fecha_novedad_display": "04/03/2021",
    }


def test_an_error_shows_no_internals(client, person):
    settle(
        CedulaInfo.objects.get(user=person),
        Status.ERROR,
        last_error="The requested URL was rejected. Your support ID is: 1234567890",
        error_kind=ErrorKind.BLOCKED,
        departamento="STALE DEPARTAMENTO",
    )
    client.force_login(person)

    response = client.get(URL)

    body = response.content.decode()
    assert response.json()["status"] == "error"
    assert response.json()["result"] == {}
    for secret in ("rejected", "support", "1234567890", "blocked", "Bloqueado", "STALE", "error_kind", "last_error"):
        assert secret not in body, secret


def test_a_refresh_in_progress_keeps_the_last_answer_under_the_spinner(client, person):
    info = settle(CedulaInfo.objects.get(user=person), Status.ACTIVE, **ACTIVE_FIELDS)
    CedulaInfo.objects.filter(pk=info.pk).update(next_attempt_at=NOON)
    client.force_login(person)

    data = client.get(URL).json()

    assert data["checking"] is True
    assert data["panels"] == ["checking", "previous", "active", "last_checked"]


def test_it_answers_about_the_requesting_user_only(client, person, user_factory):
    other = user_factory(cedula="80111222", email="otro@example.com")
    other_row = settle(CedulaInfo.objects.get(user=other), Status.ACTIVE, puesto="PUESTO DEL OTRO", mesa="099")
    settle(CedulaInfo.objects.get(user=person), Status.NOT_FOUND)
    client.force_login(person)

    for query in ("", f"?user={other.pk}", f"?cedula={other_row.cedula}", f"?id={other_row.pk}"):
        body = client.get(URL + query).content.decode()
        assert '"status": "not_found"' in body
        assert "PUESTO DEL OTRO" not in body
        assert "80111222" not in body


def test_an_account_without_a_cedula_gets_an_empty_answer(client, user_factory):
    staff = user_factory(cedula=None, is_staff=True)
    client.force_login(staff)

    data = client.get(URL).json()

    assert data["has_cedula"] is False
    assert data["status"] is None
    assert data["panels"] == ["no_cedula"]
