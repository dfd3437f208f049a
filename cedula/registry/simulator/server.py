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
from typing import Any

import structlog

from cedula.normalize import mask_cedula
from cedula.registry.simulator import consultacenso, outcomes, switch
from cedula.registry.simulator.behaviours import (
    CAPTCHA_WIDGET,
    CHALLENGE_COOKIE,
    INTERSTITIAL_DELAY_S,
    INTERSTITIAL_PAGE,
    PAGE_TEMPLATE,
    PATH,
    SITE_KEY,
    Behaviours,
)
from cedula.registry.simulator.overrides import OverridesFile
from cedula.registry.simulator.solver import CLASSIC_PATHS, TASK_PATHS, StandInSolver

logger = structlog.get_logger(__name__)

DEFAULT_SOLVER_KEY = "stand-in-solver-key"
# What a dropped wsp answer gets through before the connection breaks (consultacenso passes its own).
DROPPED_PARTIAL = '{"success": true, "data": {"message": "<table id=\'consulta\'><tr><td data-th='


@dataclass
class _State:
    min_gap_s: float
    captcha: bool
    solver: StandInSolver
    behaviours: Behaviours = field(default_factory=Behaviours)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: OrderedDict[str, str] = field(default_factory=OrderedDict)  # form token -> session id
    last_post_at: float | None = None
    flaky_seen: set[str] = field(default_factory=set)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    overrides: OverridesFile | None = None  # answers changed while running (see overrides.py)
    page_visits: int = 0  # form pages served (interstitials and block pages not counted)
    posts: int = 0  # lookups POSTed to the form, whatever their answer
    down: bool = False  # every connection dropped without an answer (an outage), until cleared
    blocking: bool = False  # the registry page and its POST answer the block page (the WAF blocks us), until cleared
    sources: dict[str, str] = field(default_factory=lambda: dict.fromkeys(switch.SOURCES, "ok"))  # see switch.py
    consultacenso_page_visits: int = 0
    consultacenso_posts: int = 0  # the second source's lookups; their spacing shares last_post_at with `posts`

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
    arrived_at: float = 0.0
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

    @property
    def request_path(self) -> str:
        return urllib.parse.urlsplit(self.path).path

    def _record(self, **data: Any) -> None:
        source = switch.source_of(self.request_path)
        entry = {
            "method": self.command,
            "path": self.request_path,
            **({"source": source} if source else {}),
            "user_agent": self.headers.get("User-Agent", ""),
            "sec_ch_ua": self.headers.get("sec-ch-ua", ""),
            "had_session": self._session_id() is not None,
            "at": self.arrived_at,
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

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _form(self) -> dict[str, str]:
        body = self._body()
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

    def parse_request(self) -> bool:
        # A request's time is when its request line arrived (what a registry's edge sees), not when we got round to
        # answering it: the spacing the stand-in checks and records does not depend on its own load.
        self.arrived_at = time.monotonic()
        return super().parse_request()

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
        if self._dropped() or switch.intercepted(self):
            return
        path = self.request_path
        if path in (PATH, PATH.rstrip("/")):
            self._page()
        elif switch.source_of(path) == "consultacenso":
            consultacenso.get(self, path)
        elif path == switch.CONTROL_PATH:
            switch.control(self)
        elif path == "/":
            self._send(302, "", "text/plain", {"Location": PATH})
        elif path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")
        elif self.state.captcha and path in (*CLASSIC_PATHS, "/recaptcha/demo-token"):
            self._solver(path)
        else:
            self._send(404, "Not Found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        if self._dropped() or switch.intercepted(self):
            return
        path = self.request_path
        if path in (PATH, PATH.rstrip("/")):
            self._lookup()
        elif switch.source_of(path) == "consultacenso":
            consultacenso.post(self, path)
        elif path == switch.CONTROL_PATH:
            switch.control(self)
        elif self.state.captcha and path in (*CLASSIC_PATHS, *TASK_PATHS):
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
                INTERSTITIAL_PAGE.replace("__COOKIE__", CHALLENGE_COOKIE)
                .replace("__VALUE__", value)
                .replace("__DELAY_MS__", str(int(INTERSTITIAL_DELAY_S * 1000)))
            )
            return self._send(200, page, "text/html; charset=utf-8")
        session = self._session_id() or secrets.token_hex(13)
        token = secrets.token_hex(16)
        with self.state.lock:
            self.state.page_visits += 1
            self.state.tokens[token] = session
            while len(self.state.tokens) > 50_000:
                self.state.tokens.popitem(last=False)
        widget = CAPTCHA_WIDGET.format(site_key=SITE_KEY) if self.state.captcha else ""
        page = self.state.behaviours.page(PAGE_TEMPLATE).replace("__TOKEN__", token).replace("__CAPTCHA__", widget)
        self._record()
        return self._send(
            200, page, "text/html; charset=utf-8", {"Set-Cookie": f"PHPSESSID={session}; Path=/; HttpOnly"}
        )

    def _lookup(self) -> None:
        fields = self._form()
        nuip = fields.get("nuip", "").strip()
        state = self.state
        now = self.arrived_at
        with state.lock:
            too_fast = state.last_post_at is not None and now - state.last_post_at < state.min_gap_s
            state.last_post_at = now
            state.posts += 1
            session = self._session_id()
            token_ok = session is not None and state.tokens.pop(fields.get("token", ""), None) == session
            answer_token = fields.get("g-recaptcha-response", "")
            flaky_first = nuip == outcomes.FLAKY and nuip not in state.flaky_seen
            if nuip == outcomes.FLAKY:
                state.flaky_seen.add(nuip)
        # A token is checked (and spent) by every POST that carries one, as Google's siteverify does.
        captcha_ok = not state.captcha or state.solver.redeem(answer_token)

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
            state.stop.wait(outcomes.HANG_S)
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

    def _drop(self, partial: str = DROPPED_PARTIAL) -> None:
        """Headers and half a body promised as more, then the connection closes: the client sees a broken answer."""
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 4096\r\n\r\n"
        self.wfile.write((head + partial).encode("utf-8"))
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _solver(self, path: str) -> None:
        """The solver service (solver.py): 2captcha's in.php / res.php, or the createTask JSON protocol."""
        solver = self.state.solver
        self._record()
        if path == "/recaptcha/demo-token":
            return self._send(200, solver.demo_token(), "text/plain; charset=utf-8")
        if path in TASK_PATHS:
            try:
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            except ValueError:
                payload = {}
            return self._json(solver.task_api(path, payload if isinstance(payload, dict) else {}))
        params = self._params()
        ok, value = solver.classic(path, params)
        if params.get("json") == "1":
            return self._json({"status": 1 if ok else 0, "request": value})
        return self._send(200, f"OK|{value}" if ok else value, "text/plain; charset=utf-8")
