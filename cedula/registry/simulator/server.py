"""The stand-in's HTTP server: stdlib ThreadingHTTPServer, one thread per request, so a hung request hangs alone."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
import urllib.parse
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import structlog

from cedula.normalize import mask_cedula
from cedula.registry.simulator import outcomes
from cedula.registry.simulator.overrides import OverridesFile

logger = structlog.get_logger(__name__)

PATH = "/censo/consultar/"
SITE_KEY = "6LcStandInSiteKeyForTheLocalRegistry00000"
DEFAULT_SOLVER_KEY = "stand-in-solver-key"
HANG_S = 600.0
_PAGE = Path(__file__).with_name("page.html").read_text(encoding="utf-8")
_CAPTCHA_WIDGET = (
    '<div class="g-recaptcha" data-sitekey="{site_key}"><label style="font-weight:normal">'
    '<input type="checkbox" id="recaptcha-anchor"> No soy un robot</label>'
    '<textarea id="g-recaptcha-response" name="g-recaptcha-response" style="display:none"></textarea></div>'
)
# The first visit of a browser without the challenge cookie: a script sets it and reloads (as F5/Cloudflare-style
# JavaScript challenges do). A client that reads this page as the form finds no form.
CHALLENGE_COOKIE = "standin_js"
_INTERSTITIAL = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Verificando su navegador…</title></head>
<body><p id="verificando">Verificando su navegador antes de acceder a la consulta…</p>
<script>
setTimeout(function () {
  document.cookie = "__COOKIE__=__VALUE__; path=/";
  window.location.reload();
}, __DELAY_MS__);
</script></body></html>
"""
INTERSTITIAL_DELAY_S = 0.15
# What the renamed page calls its elements: the number input keeps only its label, the button its text, the select
# its name; the answer area becomes #resultado, a live region.
RENAMED_IDS = {
    "nuip": "numero-documento",
    "nuip_name": "numero",
    "button": "btn-consultar",
    "tipo": "tipo-consulta",
    "answer": "resultado",
}
PLAIN_IDS = {"nuip": "nuip", "nuip_name": "nuip", "button": "enviar", "tipo": "tipo", "answer": "success"}


@dataclass(frozen=True)
class Behaviours:
    """How the page behaves besides the plain form. All off = the plain page; `realistic()` = everything on.

    placeholder     a spinner + skeleton written into the answer area before the POST (never an answer)
    interstitial    a first visit gets a JavaScript page that sets a cookie and reloads; the form comes after it
    form_delay_s    the form is hidden at load and shown after this delay
    render_delay_s  the POST's answer is rendered this long after it arrived
    wrapped         the answer is rendered, then re-rendered inside extra markup (header, card, footer)
    renamed         the number input loses its id and name (its label stays), the button its id (its text stays),
                    the select its id (its name stays); the answer area is `#resultado` with aria-live (the page's
                    own script follows the new names)
    dom_message     test aid, not part of `realistic`: the page renders this instead of the JSON's message
    """

    placeholder: bool = False
    interstitial: bool = False
    form_delay_s: float = 0.0
    render_delay_s: float = 0.0
    wrapped: bool = False
    renamed: bool = False
    dom_message: str = ""

    # Short enough to keep a lookup well under a second, long enough that reading too early reads the wrong thing.
    REALISTIC_FORM_DELAY_S: ClassVar[float] = 0.3
    REALISTIC_RENDER_DELAY_S: ClassVar[float] = 0.25

    @classmethod
    def realistic(cls, **overrides: Any) -> Behaviours:
        values: dict[str, Any] = {
            "placeholder": True,
            "interstitial": True,
            "form_delay_s": cls.REALISTIC_FORM_DELAY_S,
            "render_delay_s": cls.REALISTIC_RENDER_DELAY_S,
            "wrapped": True,
            "renamed": True,
        }
        values.update(overrides)
        return cls(**values)

    def names(self) -> list[str]:
        """The behaviours switched on, for logs and bench output."""
        return [
            name
            for name in ("placeholder", "interstitial", "form_delay_s", "render_delay_s", "wrapped", "renamed")
            if getattr(self, name)
        ] + (["dom_message"] if self.dom_message else [])

    def page(self, template: str) -> str:
        ids = RENAMED_IDS if self.renamed else PLAIN_IDS
        script = {
            "nuipId": ids["nuip"],
            "buttonId": ids["button"],
            "tipoId": ids["tipo"],
            "answerId": ids["answer"],
            "placeholder": self.placeholder,
            "formDelayMs": int(self.form_delay_s * 1000),
            "renderDelayMs": int(self.render_delay_s * 1000),
            "wrapped": self.wrapped,
            "domMessage": self.dom_message,
        }
        return (
            template.replace("__NUIP_ID__", ids["nuip"])
            .replace("__NUIP_NAME__", ids["nuip_name"])
            .replace("__BUTTON_ID__", ids["button"])
            .replace("__TIPO_ID__", ids["tipo"])
            .replace("__ANSWER_ID__", ids["answer"])
            .replace("__ANSWER_ATTRS__", ' aria-live="polite"' if self.renamed else "")
            .replace("__FORM_STYLE__", ' style="display:none"' if self.form_delay_s > 0 else "")
            .replace("__BEHAVIOUR__", json.dumps(script, ensure_ascii=False).replace("</", "<\\/"))
        )


@dataclass
class _State:
    min_gap_s: float
    captcha: bool
    solver_key: str
    solve_delay_s: float
    behaviours: Behaviours = field(default_factory=Behaviours)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: OrderedDict[str, str] = field(default_factory=OrderedDict)  # form token -> session id
    last_post_at: float | None = None
    flaky_seen: set[str] = field(default_factory=set)
    solver_tasks: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (ready at, token)
    captcha_tokens: set[str] = field(default_factory=set)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    overrides: OverridesFile | None = None  # answers changed while running (see overrides.py)
    solver_error: str = ""  # every solver call (in.php, res.php) answers this error code while it is set
    solver_balance: float = 10.0  # what getbalance answers (0.0 while solver_error is ERROR_ZERO_BALANCE)
    down: bool = False  # every connection dropped without an answer (an outage), until cleared
    blocking: bool = False  # the registry page and its POST answer the block page (the WAF blocks us), until cleared

    def outcome_for(self, cedula: str) -> outcomes.Outcome:
        return self.overrides.outcome_for(cedula) if self.overrides else outcomes.outcome_for(cedula)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: _State

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up (timeouts, closed contexts) are routine here, not server errors.
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "Apache"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass  # one structured line per answer instead (see _record)

    # --- plumbing ---------------------------------------------------------------------------------------------------

    @property
    def state(self) -> _State:
        return self.server.state

    def _send(self, status: int, body: str | bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        payload = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _json(self, data: dict[str, Any], status: int = 200) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False), "application/json; charset=utf-8")

    def _block(self) -> None:
        support_id = str(secrets.randbelow(10**19))
        self._send(200, outcomes.BLOCK_PAGE.format(support_id=support_id), "text/html; charset=utf-8")

    def _cookie(self, name: str) -> str | None:
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        morsel = cookie.get(name)
        return morsel.value if morsel else None

    def _session_id(self) -> str | None:
        return self._cookie("PHPSESSID")

    def _passed_challenge(self) -> bool:
        return not self.state.behaviours.interstitial or self._cookie(CHALLENGE_COOKIE) is not None

    def _record(self, **data: Any) -> None:
        entry = {
            "method": self.command,
            "path": urllib.parse.urlsplit(self.path).path,
            "user_agent": self.headers.get("User-Agent", ""),
            "sec_ch_ua": self.headers.get("sec-ch-ua", ""),
            "had_session": self._session_id() is not None,
            "at": time.monotonic(),
            **data,
        }
        self.state.requests.append(entry)
        if "answer" in entry:
            logger.debug(
                "registry_simulator_answer",
                method=self.command,
                cedula=mask_cedula(entry.get("nuip", "")),
                answer=entry["answer"],
            )

    def _params(self) -> dict[str, str]:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if self.command == "POST":
            query.update(self._form())
        return query

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
            )
            fields: dict[str, str] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name:
                    payload = part.get_payload(decode=True)
                    fields[str(name)] = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            return fields
        return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))

    # --- routes -----------------------------------------------------------------------------------------------------

    def _dropped(self) -> bool:
        """While the site is down every request is dropped without a byte (the browser sees ERR_EMPTY_RESPONSE);
        while it blocks us, the registry's page and POST answer the block page."""
        if self.state.blocking and urllib.parse.urlsplit(self.path).path.rstrip("/") == PATH.rstrip("/"):
            self._record(answer="blocked:all")
            self._block()
            return True
        if not self.state.down:
            return False
        self._record(answer="dropped")
        self.close_connection = True
        return True

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self._dropped():
            return
        path = urllib.parse.urlsplit(self.path).path
        if path in (PATH, PATH.rstrip("/")):
            self._page()
        elif path == "/":
            self._send(302, "", "text/plain", {"Location": PATH})
        elif path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")
        elif self.state.captcha and path in ("/in.php", "/res.php", "/recaptcha/demo-token"):
            self._solver(path)
        else:
            self._send(404, "Not Found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        if self._dropped():
            return
        path = urllib.parse.urlsplit(self.path).path
        if path in (PATH, PATH.rstrip("/")):
            self._lookup()
        elif self.state.captcha and path in ("/in.php", "/res.php"):
            self._solver(path)
        else:
            self._send(404, "Not Found", "text/plain; charset=utf-8")

    def _page(self) -> None:
        if "HeadlessChrome" in self.headers.get("User-Agent", ""):
            self._record(answer="blocked:user_agent")
            self._block()
            return
        if not self._passed_challenge():
            self._record(answer="interstitial")
            value = secrets.token_hex(8)
            page = (
                _INTERSTITIAL.replace("__COOKIE__", CHALLENGE_COOKIE)
                .replace("__VALUE__", value)
                .replace("__DELAY_MS__", str(int(INTERSTITIAL_DELAY_S * 1000)))
            )
            return self._send(200, page, "text/html; charset=utf-8")
        session = self._session_id() or secrets.token_hex(13)
        token = secrets.token_hex(16)
        with self.state.lock:
            self.state.tokens[token] = session
            while len(self.state.tokens) > 50_000:
                self.state.tokens.popitem(last=False)
        widget = _CAPTCHA_WIDGET.format(site_key=SITE_KEY) if self.state.captcha else ""
        page = self.state.behaviours.page(_PAGE).replace("__TOKEN__", token).replace("__CAPTCHA__", widget)
        self._record()
        return self._send(
            200, page, "text/html; charset=utf-8", {"Set-Cookie": f"PHPSESSID={session}; Path=/; HttpOnly"}
        )

    def _lookup(self) -> None:
        fields = self._form()
        nuip = fields.get("nuip", "").strip()
        state = self.state
        now = time.monotonic()
        with state.lock:
            too_fast = state.last_post_at is not None and now - state.last_post_at < state.min_gap_s
            state.last_post_at = now
            session = self._session_id()
            token_ok = session is not None and state.tokens.pop(fields.get("token", ""), None) == session
            captcha_ok = not state.captcha or fields.get("g-recaptcha-response", "") in state.captcha_tokens
            state.captcha_tokens.discard(fields.get("g-recaptcha-response", ""))
            flaky_first = nuip == outcomes.FLAKY and nuip not in state.flaky_seen
            if nuip == outcomes.FLAKY:
                state.flaky_seen.add(nuip)

        def answer(kind: str) -> None:
            self._record(nuip=nuip, wd=fields.get("wd", ""), answer=kind)

        if "HeadlessChrome" in self.headers.get("User-Agent", ""):
            answer("blocked:user_agent")
            return self._block()
        if fields.get("wd") not in ("0", "false"):
            answer("blocked:webdriver")
            return self._block()
        if not self._passed_challenge():
            answer("blocked:no_challenge_cookie")
            return self._block()
        if too_fast:
            answer("blocked:too_fast")
            return self._block()
        if not token_ok or nuip == outcomes.STALE_TOKEN:
            answer("reload")
            return self._json({"success": False, "reload": True, "data": {"message": outcomes.EXPIRED_MESSAGE}})
        if not captcha_ok:
            answer("captcha")
            return self._json({"success": False, "data": {"message": outcomes.CAPTCHA_MESSAGE}})
        if not (nuip.isdigit() and 3 <= len(nuip.lstrip("0")) <= 10) or fields.get("tipo") != "-1":
            answer("invalid")
            return self._json({"success": False, "data": {"message": outcomes.INVALID_MESSAGE}})
        cedula = nuip.lstrip("0")
        if cedula == outcomes.HANG:
            answer("hang")
            state.stop.wait(HANG_S)
            self.close_connection = True
            return None
        if cedula == outcomes.SERVER_ERROR:
            answer("server_error")
            return self._send(500, "<h1>Internal Server Error</h1>", "text/html; charset=utf-8")
        if cedula == outcomes.MALFORMED:
            answer("malformed")
            return self._json({"success": True, "data": {"message": outcomes.MALFORMED_MESSAGE}})
        if cedula == outcomes.BLOCKED or flaky_first:
            answer("blocked:fault")
            return self._block()
        if cedula == outcomes.DROPPED:
            answer("dropped")
            return self._drop()
        if cedula == outcomes.SLOW:
            state.stop.wait(outcomes.SLOW_RENDER_S)
        outcome = state.outcome_for(cedula)
        answer(outcome.status)
        message = outcomes.render_answer(cedula, outcome)
        return self._json({"success": outcome.status != "not_found", "data": {"message": message}})

    def _drop(self) -> None:
        """Headers and half a body promised as more, then the connection closes: the client sees a broken answer."""
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 4096\r\n\r\n"
            '{"success": true, "data": {"message": "<table id=\'consulta\'><tr><td data-th='
        )
        self.wfile.write(head.encode("utf-8"))
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _solver(self, path: str) -> None:
        """2captcha-compatible: in.php takes a reCAPTCHA task, res.php returns its token once "solved"."""
        state = self.state
        self._record()
        if path == "/recaptcha/demo-token":
            token = "demo-" + secrets.token_urlsafe(24)
            with state.lock:
                state.captcha_tokens.add(token)
            return self._send(200, token, "text/plain; charset=utf-8")
        params = self._params()
        as_json = params.get("json") == "1"

        def reply(ok: bool, value: str) -> None:
            if as_json:
                self._json({"status": 1 if ok else 0, "request": value})
            else:
                self._send(200, f"OK|{value}" if ok else value, "text/plain; charset=utf-8")

        if not params.get("key"):
            return reply(False, "ERROR_WRONG_USER_KEY")
        if params["key"] != state.solver_key:
            return reply(False, "ERROR_KEY_DOES_NOT_EXIST")
        if params.get("action") == "getbalance":
            # 2captcha answers an empty account's balance as 0, not as an error; a bad key is refused above or here.
            if state.solver_error in ("ERROR_KEY_DOES_NOT_EXIST", "ERROR_WRONG_USER_KEY"):
                return reply(False, state.solver_error)
            balance = 0.0 if state.solver_error == "ERROR_ZERO_BALANCE" else state.solver_balance
            return reply(True, f"{balance:.5f}")
        if state.solver_error:
            return reply(False, state.solver_error)
        if path == "/in.php":
            if params.get("method") != "userrecaptcha":
                return reply(False, "ERROR_BAD_PARAMETERS")
            if not params.get("googlekey") or not params.get("pageurl"):
                return reply(False, "ERROR_GOOGLEKEY")
            task_id = str(secrets.randbelow(10**11))
            # A token for another site's key is "solved" but the form will not accept it.
            token = ("sol-" if params["googlekey"] == SITE_KEY else "wrong-") + secrets.token_urlsafe(32)
            with state.lock:
                state.solver_tasks[task_id] = (time.monotonic() + state.solve_delay_s, token)
            return reply(True, task_id)
        if params.get("action") != "get":
            return reply(False, "ERROR_BAD_PARAMETERS")
        with state.lock:
            task = state.solver_tasks.get(params.get("id", ""))
            if task is None:
                return reply(False, "ERROR_WRONG_CAPTCHA_ID")
            ready_at, token = task
            if time.monotonic() < ready_at:
                return reply(False, "CAPCHA_NOT_READY")
            del state.solver_tasks[params["id"]]
            if token.startswith("sol-"):
                state.captcha_tokens.add(token)
        return reply(True, token)


class SimulatorHandle:
    """A running stand-in: `.url` is the form page, `.requests` what it saw (newest last)."""

    def __init__(self, server: _Server, thread: threading.Thread, host: str) -> None:
        self._server = server
        self._thread = thread
        port = server.server_address[1]
        self.base_url = f"http://{host}:{port}"
        self.url = f"{self.base_url}{PATH}"
        self.port = port
        self.solver_key = server.state.solver_key
        self.site_key = SITE_KEY

    @property
    def behaviours(self) -> Behaviours:
        return self._server.state.behaviours

    def set_behaviours(self, behaviours: Behaviours) -> None:
        """Switch the page's behaviours for the pages served from now on (and forget the flaky cedula's first ask)."""
        with self._server.state.lock:
            self._server.state.behaviours = behaviours
            self._server.state.flaky_seen.clear()

    def set_solver_error(self, code: str | None) -> None:
        """Make every solver call answer `code` (ERROR_ZERO_BALANCE, ERROR_KEY_DOES_NOT_EXIST, ...) until cleared."""
        with self._server.state.lock:
            self._server.state.solver_error = code or ""

    def set_down(self, down: bool) -> None:
        """Drop every connection (an outage of the whole site) until set back to False."""
        with self._server.state.lock:
            self._server.state.down = down

    def set_blocking(self, blocking: bool) -> None:
        """Answer the block page to every request for the registry's page (the WAF blocks this client)."""
        with self._server.state.lock:
            self._server.state.blocking = blocking

    @property
    def requests(self) -> list[dict[str, Any]]:
        return list(self._server.state.requests)

    def lookups(self) -> list[dict[str, Any]]:
        """The form POSTs seen so far, each with the stand-in's answer ("active", "blocked:webdriver", ...)."""
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == PATH]

    def stop(self) -> None:
        self._server.state.stop.set()  # releases hung and slow requests
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        self._thread.join()


def start_simulator(
    *,
    port: int = 0,
    min_gap_s: float = 0.0,
    captcha: bool = False,
    host: str = "127.0.0.1",
    solver_key: str = DEFAULT_SOLVER_KEY,
    solve_delay_s: float = 0.3,
    overrides_file: Path | str | None = None,
    realistic: bool = False,
    placeholder: bool | None = None,
    interstitial: bool | None = None,
    form_delay_s: float | None = None,
    render_delay_s: float | None = None,
    wrapped: bool | None = None,
    renamed: bool | None = None,
    dom_message: str = "",
    behaviours: Behaviours | None = None,
) -> SimulatorHandle:
    """Start the stand-in in a background thread (port 0 = a free port) and return once it accepts connections.

    Page behaviours (see Behaviours): each keyword switches one on (or off, over `realistic=True`, which starts with
    all of them on); `behaviours=` passes a ready Behaviours instead.
    """
    if behaviours is None:
        chosen = {
            "placeholder": placeholder,
            "interstitial": interstitial,
            "form_delay_s": form_delay_s,
            "render_delay_s": render_delay_s,
            "wrapped": wrapped,
            "renamed": renamed,
        }
        given: dict[str, Any] = {key: value for key, value in chosen.items() if value is not None}
        if dom_message:
            given["dom_message"] = dom_message
        behaviours = Behaviours.realistic(**given) if realistic else Behaviours(**given)
    server = _Server((host, port), _Handler)
    server.state = _State(
        min_gap_s=min_gap_s,
        captcha=captcha,
        solver_key=solver_key,
        solve_delay_s=solve_delay_s,
        behaviours=behaviours,
    )
    if overrides_file is not None:
        server.state.overrides = OverridesFile(overrides_file)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="registry-simulator", daemon=True
    )
    thread.start()
    handle = SimulatorHandle(server, thread, host)
    logger.info(
        "registry_simulator_started",
        url=handle.url,
        min_gap_s=min_gap_s,
        captcha=captcha,
        behaviours=behaviours.names(),
    )
    return handle
