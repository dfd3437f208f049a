"""The stand-in's second source, consultacenso, over plain HTTP (and once in Chromium), and the per-source switch."""

from __future__ import annotations

import asyncio
import datetime
import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.core.management.base import CommandError

from cedula.management.commands.registry_simulator import Command
from cedula.registry.parser import parse_result
from cedula.registry.simulator import CONSULTACENSO_PATH, FAULT_CEDULAS, Outcome, expected_outcome, outcome_for
from cedula.registry.simulator.consultacenso import answer_for, cased, upper_keys
from cedula.registry.simulator.overrides import write_overrides
from cedula.registry.simulator.switch import parse_source_state
from tests.helpers.registry import DESKTOP_UA, Visitor

BLOCK_TEXT = "The requested URL was rejected. Please consult with your administrator."
EXPIRED = {"ok": False, "error": "La sesión expiró; recargue la página."}
CAPTCHA = {"ok": False, "error": "Captcha inválido o vencido"}
INVALID = {"ok": False, "error": "Documento inválido"}


def pick(status: str, odd: bool) -> str:
    """A hash-answered cedula with this outcome and parity (the parity decides the answer's key case)."""
    return next(
        str(n)
        for n in range(30_000_001, 30_200_000)
        if n % 2 == odd and str(n) not in FAULT_CEDULAS and outcome_for(str(n)).status == status
    )


def folded(value):
    if isinstance(value, dict):
        return {key.lower(): folded(item) for key, item in value.items()}
    return value


def keys(value) -> set[str]:
    """Every key of a JSON answer, at every level."""
    if not isinstance(value, dict):
        return set()
    return set(value) | {key for item in value.values() for key in keys(item)}


class CensoVisitor(Visitor):
    """A Visitor (the census page's client) that also does what consultacenso's script does, with the same cookies."""

    def page(self) -> str:
        return self.get(self.site.consultacenso_url)

    def elecciones(self) -> dict:
        return json.loads(self.get(f"{self.site.consultacenso_url}back/api/elecciones"))

    def send(self, body: bytes, timeout: float = 10) -> tuple[int, str, str]:
        request = urllib.request.Request(
            f"{self.site.consultacenso_url}back/api/consulta",
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": self.user_agent},
        )
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.headers.get_content_type(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get_content_type(), error.read().decode()

    def raw(self, documento: str, timeout: float = 10, **overrides: object) -> tuple[int, str, str]:
        fields = {"documento": documento, "eleccionId": 0, "captchaToken": "", "wd": "false", **overrides}
        return self.send(json.dumps(fields).encode(), timeout=timeout)

    def consulta(self, documento: str, **overrides: object) -> dict:
        """The API's JSON answer (an AssertionError when it answers anything else, such as the block page)."""
        status, content_type, text = self.raw(documento, **overrides)
        assert (status, content_type) == (200, "application/json"), text[:200]
        return json.loads(text)

    def blocked(self, documento: str, **overrides: object) -> bool:
        status, content_type, text = self.raw(documento, **overrides)
        return status == 200 and content_type == "text/html" and BLOCK_TEXT in text


def visitor(site, **kwargs) -> CensoVisitor:
    censo = CensoVisitor(site, **kwargs)
    censo.page()  # the PHPSESSID cookie, as a browser gets it
    return censo


def dropped(call) -> bool:
    try:
        call()
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
        return True
    return False


# --- pure: the answer's shape and its key case -----------------------------------------------------------------------


def test_a_cancellation_says_its_novedad_resolucion_and_date():
    outcome = Outcome(
        "cancelled", novedad="Cancelada por Muerte", resolucion="0012", fecha_novedad=datetime.date(2026, 5, 2)
    )
    assert answer_for("5342442", outcome) == {
        "ok": True,
        "encontrado": True,
        "novedad": True,
        "mensaje": "Cancelada por Muerte",
        "descripcion": "Resolución 0012 del 02/05/2026",
        "data": {"nuip": "5342442"},
    }


def test_a_cancellation_leaves_out_the_parts_the_outcome_lacks():
    bare = answer_for("5342442", Outcome("cancelled", novedad="Cancelada por Muerte"))
    assert "descripcion" not in bare and bare["mensaje"] == "Cancelada por Muerte"
    assert answer_for("5342442", Outcome("cancelled", resolucion="0012"))["descripcion"] == "Resolución 0012"
    assert "mensaje" not in answer_for("5342442", Outcome("cancelled", resolucion="0012"))


def test_odd_documentos_get_upper_case_keys_at_every_level_and_values_keep_their_case():
    answer = {"ok": True, "data": {"nom_mun": "Bello", "lista": [{"id": 0}]}}
    assert cased(answer, True) == {"OK": True, "DATA": {"NOM_MUN": "Bello", "LISTA": [{"ID": 0}]}}
    assert cased(answer, False) == answer
    assert [upper_keys(c) for c in ("25837221", "25837220", "", "abc")] == [True, False, False, False]


def test_a_source_state_reads_as_name_equals_state():
    assert parse_source_state("wsp=changed") == ("wsp", "changed")
    for bad in ("wsp", "wsp=gone", "other=down", "=ok"):
        with pytest.raises(ValueError):
            parse_source_state(bad)


def test_the_command_takes_repeated_source_states_and_refuses_bad_ones():
    parser = Command().create_parser("manage.py", "registry_simulator")
    options = parser.parse_args(["--source-state", "wsp=changed", "--source-state", "consultacenso=down"])
    assert options.source_state == [("wsp", "changed"), ("consultacenso", "down")]
    assert parser.parse_args([]).source_state == []
    with pytest.raises(CommandError, match="FUENTE=ESTADO"):
        parser.parse_args(["--source-state", "wsp=roto"])


# --- the page and its elections --------------------------------------------------------------------------------------


@pytest.mark.integration
def test_the_page_has_the_real_sites_fields_and_says_it_is_a_stand_in(registry_site):
    assert CONSULTACENSO_PATH == "/consultacenso/"
    assert registry_site.consultacenso_url == f"{registry_site.base_url}/consultacenso/"
    before = registry_site.counts()["consultacenso_page_visits"]
    censo = CensoVisitor(registry_site)
    page = censo.page()
    assert re.search(r"<title>STAND-IN \(simulador local, no es la Registraduría\)", page)
    assert '<form id="consultaForm"' in page
    assert '<label for="documento">Número de documento</label>' in page
    assert 'id="documento" name="documento" maxlength="10"' in page
    assert '<label for="eleccion">Elección</label>' in page and '<select id="eleccion" name="eleccion">' in page
    assert '<button id="submitBtn" type="submit">Consultar</button>' in page
    assert '<div id="resultado" aria-live="polite">' in page
    assert "fetch('back/api/elecciones'" in page and "fetch('back/api/consulta'" in page
    assert "data-sitekey" not in page and 'id="token"' not in page
    jar = next(h.cookiejar for h in censo.opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor))
    assert "PHPSESSID" in {cookie.name for cookie in jar}
    assert registry_site.requests[-1]["source"] == "consultacenso"
    assert registry_site.counts()["consultacenso_page_visits"] == before + 1


@pytest.mark.integration
def test_the_page_without_its_slash_redirects_to_it(registry_site):
    assert "consultaForm" in CensoVisitor(registry_site).get(f"{registry_site.base_url}/consultacenso")
    assert registry_site.requests[-1]["path"] == "/consultacenso/"


@pytest.mark.integration
def test_a_headless_user_agent_gets_the_block_page(registry_site):
    censo = CensoVisitor(registry_site, user_agent=DESKTOP_UA.replace("Chrome/", "HeadlessChrome/"))
    assert BLOCK_TEXT in censo.page()
    assert censo.blocked("25837220")


@pytest.mark.integration
def test_captcha_mode_shows_the_same_widget_as_the_census_page(registry_site_captcha):
    page = CensoVisitor(registry_site_captcha).page()
    assert f'class="g-recaptcha" data-sitekey="{registry_site_captcha.site_key}"' in page
    assert '<textarea id="g-recaptcha-response"' in page and 'id="recaptcha-anchor"' in page
    assert "fetch('/recaptcha/demo-token'" in page


@pytest.mark.integration
def test_the_elections_list_the_current_place_first(registry_site):
    assert CensoVisitor(registry_site).elecciones() == {
        "ok": True,
        "data": [
            {"id": 0, "nombre": "LUGAR DE VOTACION ACTUAL", "mensaje": ""},
            {"id": 1, "nombre": "CONSULTAS POPULARES 2026 (stand-in)", "mensaje": ""},
        ],
    }


# --- the answers: the census page's outcome, in either key case ------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("odd", [False, True], ids=["lower-case keys", "upper-case keys"])
@pytest.mark.parametrize("status", ["active", "cancelled", "not_found"])
def test_each_outcome_agrees_with_the_census_page(registry_site, status, odd):
    cedula = pick(status, odd)
    answer = visitor(registry_site).consulta(cedula)
    assert all(key == (key.upper() if odd else key.lower()) for key in keys(answer))
    answer = folded(answer)
    expected = outcome_for(cedula)
    assert answer["ok"] is True
    if status == "active":
        assert answer == {
            "ok": True,
            "encontrado": True,
            "data": {
                "nuip": cedula,
                "nom_depto": expected.departamento,
                "nom_mun": expected.municipio,
                "nom_puesto": expected.puesto,
                "direccion": expected.direccion,
                "mesa": expected.mesa,
            },
        }
        assert re.fullmatch(r"\d{3}", answer["data"]["mesa"])  # "013" stays "013"
    elif status == "cancelled":
        assert answer == {
            "ok": True,
            "encontrado": True,
            "novedad": True,
            "mensaje": expected.novedad,
            "descripcion": f"Resolución {expected.resolucion} del {expected.fecha_novedad:%d/%m/%Y}",
            "data": {"nuip": cedula},
        }
    else:
        assert answer == {
            "ok": True,
            "encontrado": False,
            "mensaje": "El documento consultado no se encuentra en el censo para esta elección.",
        }
    # The census page says the same of the same cedula.
    wsp = json.loads(Visitor(registry_site).lookup(cedula)[1])
    assert parse_result(wsp["data"]["message"]).status == expected_outcome(cedula) == status
    post = registry_site.lookups(source="consultacenso")[-1]
    assert (post["nuip"], post["answer"], post["source"]) == (cedula, status, "consultacenso")
    assert registry_site.lookups()[-1]["source"] == "wsp"


@pytest.mark.integration
def test_an_overrides_file_changes_both_sources_alike(registry_site_factory, tmp_path):
    overrides = tmp_path / "overrides.json"
    site = registry_site_factory(overrides_file=overrides)
    cedula = pick("active", odd=False)
    write_overrides(overrides, {cedula: Outcome("cancelled", novedad="Cancelada por Muerte", resolucion="0007")})
    answer = visitor(site).consulta(cedula)
    assert (answer["novedad"], answer["mensaje"], answer["descripcion"]) == (
        True,
        "Cancelada por Muerte",
        "Resolución 0007",
    )
    assert parse_result(json.loads(Visitor(site).lookup(cedula)[1])["data"]["message"]).status == "cancelled"


@pytest.mark.integration
def test_lookups_are_kept_apart_by_source_and_counted(registry_site_factory):
    site = registry_site_factory()
    censo = visitor(site)
    censo.consulta("25837220")
    censo.lookup("25837220")
    assert [r["source"] for r in site.lookups()] == ["wsp"]
    assert [r["source"] for r in site.lookups(source="consultacenso")] == ["consultacenso"]
    assert len(site.lookups(source=None)) == 2
    counts = site.counts()
    assert {
        name: counts[name] for name in ("page_visits", "posts", "consultacenso_page_visits", "consultacenso_posts")
    } == {
        "page_visits": 1,
        "posts": 1,
        "consultacenso_page_visits": 1,
        "consultacenso_posts": 1,
    }
    with pytest.raises(ValueError):
        site.lookups(source="other")


# --- refusals and blocks ---------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_a_body_that_is_not_json_or_has_no_documento_is_an_invalid_documento(registry_site):
    censo = visitor(registry_site)
    for body in (b"documento=25837220", b"[1, 2]", json.dumps({"eleccionId": 0, "wd": "false"}).encode()):
        status, _, text = censo.send(body)
        assert (status, json.loads(text)) == (200, INVALID)
    assert censo.consulta("12") == INVALID
    assert censo.consulta("25837a20") == INVALID


@pytest.mark.integration
def test_an_election_other_than_the_current_place_is_not_available(registry_site):
    censo = visitor(registry_site)
    assert censo.consulta("25837220", eleccionId=1) == {"ok": False, "error": "Elección no disponible"}
    assert censo.consulta("25837221", eleccionId=1) == {"OK": False, "ERROR": "Elección no disponible"}
    assert censo.consulta("25837220", eleccionId="0")["ok"] is True


@pytest.mark.integration
def test_a_post_without_the_pages_session_cookie_is_told_to_reload(registry_site):
    assert CensoVisitor(registry_site).consulta("25837220") == EXPIRED
    assert registry_site.lookups(source="consultacenso")[-1]["answer"] == "expired"


@pytest.mark.integration
@pytest.mark.parametrize("wd", ["true", "1", "", True])
def test_webdriver_reported_by_the_page_gets_the_block_page(registry_site, wd):
    assert visitor(registry_site).blocked("25837220", wd=wd)
    assert registry_site.lookups(source="consultacenso")[-1]["answer"] == "blocked:webdriver"


@pytest.mark.integration
def test_captcha_mode_refuses_missing_forged_and_reused_tokens(registry_site_captcha):
    site = registry_site_captcha
    censo = visitor(site)
    assert censo.consulta("25837220") == CAPTCHA
    assert censo.consulta("25837220", captchaToken="forged-token") == CAPTCHA
    assert censo.consulta("25837221", captchaToken="forged-token") == {k.upper(): v for k, v in CAPTCHA.items()}
    token = censo.get(f"{site.base_url}/recaptcha/demo-token")
    assert censo.consulta("25837220", captchaToken=token)["encontrado"] is True
    assert censo.consulta("25837220", captchaToken=token) == CAPTCHA


@pytest.mark.integration
def test_asking_faster_than_the_gap_is_blocked_across_both_sources(registry_site_factory):
    site = registry_site_factory(min_gap_s=0.5)
    censo = visitor(site)
    assert censo.lookup("25837220")[0] == "application/json"  # the census page
    assert censo.blocked("25837220")  # consultacenso right after: one registry, one clock
    time.sleep(0.6)
    assert censo.consulta("25837220")["ok"] is True
    assert parse_result(censo.lookup("25837220")[1]).error_kind == "blocked"  # and the other way round
    assert site.lookups(source="consultacenso")[0]["answer"] == "blocked:too_fast"


# --- the fault cedulas, as on the census page ------------------------------------------------------------------------


@pytest.mark.integration
def test_the_hanging_cedula_never_answers_and_does_not_stop_the_server(registry_site_factory):
    site = registry_site_factory()
    censo = visitor(site)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        censo.raw("1000000001", timeout=0.5)
    assert visitor(site).consulta("25837220")["ok"] is True
    started = time.monotonic()
    site.stop()
    assert time.monotonic() - started < 5


@pytest.mark.integration
def test_the_server_error_cedula_gets_an_http_500(registry_site):
    assert visitor(registry_site).raw("1000000002")[0] == 500


@pytest.mark.integration
def test_the_malformed_cedula_is_found_without_its_place(registry_site):
    # 1000000003 is odd: upper-case keys.
    assert visitor(registry_site).consulta("1000000003") == {
        "OK": True,
        "ENCONTRADO": True,
        "DATA": {"NUIP": "1000000003", "BASURA": "<<<%%%>>>"},
    }


@pytest.mark.integration
def test_the_slow_cedula_answers_late_then_active(registry_site):
    censo = visitor(registry_site)
    started = time.monotonic()
    answer = folded(censo.consulta("1000000004"))
    assert time.monotonic() - started >= 3.5
    assert answer["encontrado"] is True and answer["data"]["nom_mun"] == outcome_for("1000000004").municipio


@pytest.mark.integration
def test_the_blocked_cedula_always_gets_the_block_page(registry_site):
    censo = visitor(registry_site)
    assert censo.blocked("1000000005") and censo.blocked("1000000005")


@pytest.mark.integration
def test_the_stale_cedula_is_told_its_session_expired(registry_site):
    assert visitor(registry_site).consulta("1000000006") == EXPIRED


@pytest.mark.integration
def test_the_dropped_cedula_breaks_the_answer_halfway(registry_site):
    censo = visitor(registry_site)
    assert dropped(lambda: censo.raw("1000000007"))
    assert registry_site.lookups(source="consultacenso")[-1]["answer"] == "dropped"


@pytest.mark.integration
def test_the_flaky_cedula_is_blocked_once_per_run_whichever_source_asks(registry_site_factory):
    censo = visitor(registry_site_factory())
    assert censo.blocked("1000000008")
    assert censo.consulta("1000000008")["encontrado"] is True
    other = visitor(registry_site_factory())
    assert parse_result(other.lookup("1000000008")[1]).error_kind == "blocked"  # the census page asked first
    assert other.consulta("1000000008")["encontrado"] is True


# --- the per-source switch -------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_a_source_that_is_down_drops_every_request_and_the_other_keeps_working(registry_site_factory):
    site = registry_site_factory(source_states={"consultacenso": "down"})
    assert site.source_state("consultacenso") == "down"
    censo = CensoVisitor(site)
    assert dropped(censo.page) and dropped(censo.elecciones) and dropped(lambda: censo.raw("25837220"))
    assert censo.lookup("25837220")[0] == "application/json"
    site.set_source("consultacenso", "ok")
    site.set_source("wsp", "down")
    assert dropped(censo.get) and dropped(lambda: censo.post(nuip="25837220"))
    assert visitor(site).consulta("25837220")["ok"] is True
    assert [r["answer"] for r in site.requests if r.get("answer") == "dropped"] == ["dropped"] * 5


@pytest.mark.integration
def test_a_changed_census_page_is_a_form_nobody_knows_and_consultacenso_keeps_working(registry_site_factory):
    site = registry_site_factory(source_states={"wsp": "changed"})
    censo = CensoVisitor(site)
    assert_unknown_page(censo.get())
    assert json.loads(censo.post(nuip="25837220", tipo="-1", wd="0")[1]) == {
        "estado": "OK",
        "resultado": {"lugar": "Consulte el resultado en el nuevo portal."},
    }
    censo.page()
    assert censo.consulta("25837220")["encontrado"] is True


@pytest.mark.integration
def test_a_changed_consultacenso_is_a_form_nobody_knows_and_the_census_page_keeps_working(registry_site_factory):
    site = registry_site_factory()
    site.set_source("consultacenso", "changed")
    censo = CensoVisitor(site)
    assert_unknown_page(censo.page())
    assert set(json.loads(censo.get(f"{site.consultacenso_url}back/api/elecciones"))) == {"estado", "resultado"}
    status, content_type, text = censo.raw("25837220")
    assert (status, content_type, set(json.loads(text))) == (200, "application/json", {"estado", "resultado"})
    assert censo.lookup("25837220")[0] == "application/json"
    site.set_source("consultacenso", "ok")
    assert "consultaForm" in censo.page()


def assert_unknown_page(page: str) -> None:
    assert '<input type="text" id="q-doc" name="q"' in page and "Identificación" in page and "Buscar ahora" in page
    for known in ('id="nuip"', 'id="documento"', "Número de documento", 'id="tipo"', 'id="eleccion"', "<select"):
        assert known not in page


def control(site, method: str = "GET", **fields: str) -> tuple[int, dict]:
    data = urllib.parse.urlencode(fields).encode() if method == "POST" else None
    request = urllib.request.Request(f"{site.base_url}/__stand-in/source", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.integration
def test_the_control_endpoint_switches_a_source_and_refuses_bad_input(registry_site_factory):
    site = registry_site_factory()
    assert control(site) == (200, {"wsp": "ok", "consultacenso": "ok"})
    assert control(site, "POST", name="wsp", state="changed") == (200, {"name": "wsp", "state": "changed"})
    assert site.source_state("wsp") == "changed"
    assert control(site) == (200, {"wsp": "changed", "consultacenso": "ok"})
    for bad in ({"name": "other", "state": "down"}, {"name": "wsp", "state": "broken"}, {}):
        status, answer = control(site, "POST", **bad)
        assert status == 400 and "error" in answer
    assert site.source_state("wsp") == "changed"


@pytest.mark.integration
def test_the_handle_refuses_an_unknown_source_or_state(registry_site_factory):
    site = registry_site_factory()
    with pytest.raises(ValueError):
        site.set_source("other", "down")
    with pytest.raises(ValueError):
        site.set_source("wsp", "broken")
    with pytest.raises(ValueError):
        site.source_state("other")
    with pytest.raises(ValueError):
        registry_site_factory(source_states={"wsp": "gone"})


# --- in Chromium -----------------------------------------------------------------------------------------------------


async def browse_consultacenso(site, cedula: str) -> tuple[list[str], str]:
    """The page in the project's own Chromium (its flags, its stealth): the election options, then one lookup."""
    from cedula.registry.browser import BrowserConfig, RegistryClient

    client = RegistryClient(BrowserConfig.from_settings(registry_url=site.url))
    try:
        context = await client.new_context()
        page = await context.new_page()
        await page.goto(site.consultacenso_url)
        await page.wait_for_selector("#eleccion option[value='0']", state="attached", timeout=10_000)
        options = await page.eval_on_selector_all("#eleccion option", "els => els.map(e => e.value)")
        await page.fill("#documento", cedula)
        await page.click("#submitBtn")
        await page.wait_for_selector("#resultado table", timeout=10_000)
        shown = await page.inner_text("#resultado")
        await context.close()
        return options, shown
    finally:
        await client.close()


@pytest.mark.integration
def test_the_page_script_fills_the_elections_and_shows_an_answer_in_chromium(registry_site):
    cedula = pick("active", odd=True)
    options, shown = asyncio.run(browse_consultacenso(registry_site, cedula))
    assert options[0] == "0" and set(options) == {"0", "1"}
    assert outcome_for(cedula).puesto in shown
    post = registry_site.lookups(source="consultacenso")[-1]
    assert (post["nuip"], post["wd"], post["answer"]) == (cedula, "false", "active")
