"""The stand-in site over plain HTTP: form, session-bound token, block rules, captcha, solver API, faults."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from cedula.normalize import normalize_cedula
from cedula.registry.parser import parse_result
from cedula.registry.simulator import FAULT_CEDULAS, demo_cedulas, expected_outcome, outcome_for
from tests.helpers.registry import DESKTOP_UA, Visitor

# --- pure: the data and the deterministic outcomes ------------------------------------------------------------------


def test_the_demo_file_has_at_least_50_realistic_people():
    demo = demo_cedulas()
    assert len(demo) >= 50
    statuses = {o.status for o in demo.values()}
    assert statuses == {"active", "cancelled", "not_found"}
    for cedula, outcome in demo.items():
        assert normalize_cedula(cedula) == cedula
        if outcome.status == "active":
            assert re.fullmatch(r"\d{3}", outcome.mesa)
            assert outcome.departamento and outcome.municipio and outcome.puesto and outcome.direccion
        if outcome.status == "cancelled":
            assert re.fullmatch(r"\d{4}", outcome.resolucion) and outcome.fecha_novedad


def test_every_cancellation_wording_is_in_the_demo_file():
    novedades = {o.novedad for o in demo_cedulas().values() if o.status == "cancelled"}
    assert novedades == {
        "Cancelada por Muerte",
        "Cancelada por Doble Cedulación",
        "Cancelada por Falsa Identidad",
        "Vigente con Pérdida o Suspensión de los Derechos Políticos",
    }


def test_any_other_cedula_gets_a_stable_mostly_active_outcome():
    sample = [str(30_000_000 + i * 7_919) for i in range(2_000)]
    outcomes = [expected_outcome(c) for c in sample]
    assert outcomes == [expected_outcome(c) for c in sample]
    share = {status: outcomes.count(status) / len(outcomes) for status in ("active", "cancelled", "not_found")}
    assert 0.7 < share["active"] < 0.9
    assert 0.05 < share["cancelled"] < 0.15
    assert 0.05 < share["not_found"] < 0.15


def test_fault_cedulas_have_documented_outcomes():
    assert FAULT_CEDULAS == {
        "1000000001": "error:timeout",
        "1000000002": "error:server_error",
        "1000000003": "error:unexpected_page",
        "1000000004": "active",
        "1000000005": "error:blocked",
        "1000000006": "error:expired",
        "1000000007": "error:network",
        "1000000008": "active",
    }
    docs = (Path(__file__).resolve().parents[2] / "cedula" / "registry" / "simulator" / "__init__.py").read_text()
    guide = (Path(__file__).resolve().parents[2] / "docs" / "registry.md").read_text()
    for cedula in FAULT_CEDULAS:
        assert cedula in docs
        assert cedula in guide, f"fault cedula {cedula} is not documented in docs/registry.md"


# --- over HTTP -------------------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_the_form_has_the_real_pages_fields_and_says_it_is_a_stand_in(registry_site):
    page = Visitor(registry_site).get()
    assert re.search(r"<title>[^<]*STAND-IN", page)
    assert 'id="nuip"' in page and 'maxlength="10"' in page
    assert '<option value="-1">LUGAR DE VOTACIÓN ACTUAL</option>' in page
    assert 'id="enviar"' in page and 'id="success"' in page
    assert "data-sitekey" not in page


@pytest.mark.integration
@pytest.mark.parametrize("cedula", ["25837220", "5342442", "123456"])
def test_it_answers_json_the_parser_reads(registry_site, cedula):
    content_type, body = Visitor(registry_site).lookup(cedula)
    assert content_type == "application/json"
    data = json.loads(body)
    result = parse_result(data["data"]["message"])
    assert result.status == expected_outcome(cedula)
    expected = outcome_for(cedula)
    if result.status == "active":
        assert (result.municipio, result.puesto, result.mesa) == (expected.municipio, expected.puesto, expected.mesa)


@pytest.mark.integration
def test_a_token_works_once_and_only_with_its_session(registry_site):
    visitor = Visitor(registry_site)
    token = visitor.token()
    fields = {"nuip": "25837220", "tipo": "-1", "token": token, "wd": "0"}
    assert json.loads(visitor.post(**fields)[1])["success"] is True
    assert json.loads(visitor.post(**fields)[1])["reload"] is True
    stranger = Visitor(registry_site)
    stranger.get()  # a session of its own
    assert json.loads(stranger.post(**{**fields, "token": visitor.token()})[1])["reload"] is True


@pytest.mark.integration
def test_a_headless_user_agent_gets_the_block_page(registry_site):
    visitor = Visitor(registry_site, user_agent=DESKTOP_UA.replace("Chrome/", "HeadlessChrome/"))
    assert parse_result(visitor.get()).error_kind == "blocked"


@pytest.mark.integration
def test_webdriver_reported_by_the_page_gets_the_block_page(registry_site):
    content_type, body = Visitor(registry_site).lookup("25837220", wd="1")
    assert content_type == "text/html"
    assert "The requested URL was rejected. Please consult with your administrator." in body
    assert re.search(r"Your support ID is: \d+", body)


@pytest.mark.integration
def test_asking_faster_than_the_gap_is_blocked(registry_site_factory):
    site = registry_site_factory(min_gap_s=0.5)
    visitor = Visitor(site)
    assert visitor.lookup("25837220")[0] == "application/json"
    assert parse_result(visitor.lookup("25837220")[1]).error_kind == "blocked"
    time.sleep(0.6)
    assert visitor.lookup("25837220")[0] == "application/json"


@pytest.mark.integration
def test_the_flaky_cedula_is_blocked_once_per_server_run(registry_site_factory):
    site = registry_site_factory()
    visitor = Visitor(site)
    assert parse_result(visitor.lookup("1000000008")[1]).error_kind == "blocked"
    assert parse_result(json.loads(visitor.lookup("1000000008")[1])["data"]["message"]).status == "active"


@pytest.mark.integration
def test_captcha_mode_refuses_a_missing_or_forged_answer(registry_site_captcha):
    visitor = Visitor(registry_site_captcha)
    assert "data-sitekey" in visitor.get()
    for answer in ("", "forged-token"):
        data = json.loads(visitor.lookup("25837220", **{"g-recaptcha-response": answer})[1])
        assert data["success"] is False
        assert data["data"]["message"].startswith("Marque el cuadro de verificación o captcha")


def solver_call(site, endpoint: str, **params: str) -> dict:
    url = f"{site.base_url}/{endpoint}?{urllib.parse.urlencode({**params, 'json': '1'})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.integration
def test_the_solver_api_speaks_2captcha(registry_site_captcha):
    site = registry_site_captcha
    assert (
        solver_call(site, "in.php", key="wrong", method="userrecaptcha", googlekey=site.site_key, pageurl=site.url)[
            "request"
        ]
        == "ERROR_KEY_DOES_NOT_EXIST"
    )
    task = solver_call(
        site, "in.php", key=site.solver_key, method="userrecaptcha", googlekey=site.site_key, pageurl=site.url
    )
    assert task["status"] == 1
    assert solver_call(site, "res.php", key=site.solver_key, action="get", id=task["request"]) == {
        "status": 0,
        "request": "CAPCHA_NOT_READY",
    }
    deadline = time.monotonic() + 5
    while (answer := solver_call(site, "res.php", key=site.solver_key, action="get", id=task["request"]))[
        "status"
    ] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    data = json.loads(Visitor(site).lookup("25837220", **{"g-recaptcha-response": answer["request"]})[1])
    assert data["success"] is True


@pytest.mark.integration
def test_the_solver_api_is_absent_without_captcha_mode(registry_site):
    with pytest.raises(urllib.error.HTTPError) as caught:
        solver_call(registry_site, "in.php", key="x")
    assert caught.value.code == 404


@pytest.mark.integration
def test_a_hung_request_does_not_stop_the_server(registry_site_factory):
    site = registry_site_factory()
    hung = Visitor(site)
    token = hung.token()
    import threading

    threading.Thread(
        target=lambda: _ignore_errors(lambda: hung.post(nuip="1000000001", tipo="-1", token=token, wd="0")),
        daemon=True,
    ).start()
    time.sleep(0.3)
    assert Visitor(site).lookup("25837220")[0] == "application/json"
    started = time.monotonic()
    site.stop()
    assert time.monotonic() - started < 5


def _ignore_errors(call) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - the hung request ends in an error when the server stops
        pass
