"""A real local Sentry: an HTTP server on 127.0.0.1 that accepts envelopes (POST /api/<project>/envelope/, gzip or
plain) and keeps what arrived, so tests see exactly the bytes the SDK would send to sentry.io."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Envelope:
    raw: bytes  # decompressed body, exactly as sent
    headers: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for header, payload in self.items if header.get("type") == "event"]

    def check_ins(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for header, payload in self.items if header.get("type") == "check_in"]


def parse_envelope(body: bytes) -> Envelope:
    """Envelope format: a JSON header line, then items of (JSON header line, payload of `length` bytes or a line)."""
    first, _, rest = body.partition(b"\n")
    envelope = Envelope(raw=body, headers=json.loads(first))
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :]
            rest = rest[1:] if rest.startswith(b"\n") else rest
        else:
            payload, _, rest = rest.partition(b"\n")
        envelope.items.append((header, payload))
    return envelope


class _Handler(BaseHTTPRequestHandler):
    server: _CaptureHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding:
            self.send_error(415, f"unsupported encoding {encoding}")
            return
        if not (self.path.startswith("/api/") and self.path.rstrip("/").endswith("/envelope")):
            self.send_error(404)
            return
        with self.server.lock:
            self.server.envelopes.append(parse_envelope(body))
        payload = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _CaptureHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    envelopes: list[Envelope]
    lock: threading.Lock


class SentryCaptureServer:
    def __init__(self) -> None:
        self._server = _CaptureHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.envelopes = []
        self._server.lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://public@{host}:{port}/1"

    def start(self) -> SentryCaptureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def envelopes(self) -> list[Envelope]:
        with self._server.lock:
            return list(self._server.envelopes)

    def events(self) -> list[dict[str, Any]]:
        return [event for envelope in self.envelopes for event in envelope.events()]

    def check_ins(self) -> list[dict[str, Any]]:
        return [check_in for envelope in self.envelopes for check_in in envelope.check_ins()]

    def raw(self) -> bytes:
        return b"\n".join(envelope.raw for envelope in self.envelopes)

    def clear(self) -> None:
        with self._server.lock:
            self._server.envelopes.clear()
