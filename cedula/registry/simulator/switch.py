"""The per-source switch: each of the registry's pages the stand-in serves ("wsp", the census page at PATH, and
"consultacenso", at CONSULTACENSO_PATH) is "ok", "changed" or "down", set while it runs.

    ok       the source behaves as usual
    down     every request to the source's paths is dropped without a byte (as `set_down` does for the whole site)
    changed  the source was redesigned in a way no client can know: GET of its page serves CHANGED_PAGE (another
             form: no #nuip/#documento, no "Número de documento" label, no select#tipo/#eleccion), and every other
             request to its paths (the POST, consultacenso's API) answers CHANGED_ANSWER, a JSON shape of its own

Set it with SimulatorHandle.set_source, start_simulator(source_states=...), `registry_simulator --source-state
wsp=changed`, or over HTTP for demos: POST CONTROL_PATH with form fields `name` and `state` (GET: every state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cedula.registry.simulator.behaviours import PATH
from cedula.registry.simulator.consultacenso import CONSULTA_PATH, CONSULTACENSO_PATH

if TYPE_CHECKING:
    from cedula.registry.simulator.server import _Handler

SOURCES = ("wsp", "consultacenso")
SOURCE_STATES = ("ok", "changed", "down")
CONTROL_PATH = "/__stand-in/source"
# The POST each source's page makes for one lookup (SimulatorHandle.lookups).
LOOKUP_PATHS = {"wsp": PATH, "consultacenso": CONSULTA_PATH}

CHANGED_PAGE = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8">
<title>STAND-IN (simulador local, no es la Registraduría) · Portal de consultas (nuevo diseño)</title></head>
<body><header>Registraduría Nacional del Estado Civil — portal de consultas</header>
<main>
<form id="buscador" autocomplete="off">
  <label for="q-doc">Identificación</label>
  <input type="text" id="q-doc" name="q" inputmode="numeric">
  <button type="submit" class="btn-buscar">Buscar ahora</button>
</form>
<section id="salida"></section>
</main>
<script>
document.getElementById('buscador').addEventListener('submit', function (event) {
  event.preventDefault();
  fetch(window.location.pathname, {method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({q: document.getElementById('q-doc').value})})
    .then(function (r) { return r.json(); })
    .then(function (a) { document.getElementById('salida').textContent = (a.resultado || {}).lugar || ''; });
});
</script></body></html>
"""
CHANGED_ANSWER: dict[str, Any] = {"estado": "OK", "resultado": {"lugar": "Consulte el resultado en el nuevo portal."}}


def source_of(path: str) -> str | None:
    """The source a request path belongs to (None: the solver, the control endpoint, anything else)."""
    if path in (PATH, PATH.rstrip("/")):
        return "wsp"
    if path == CONSULTACENSO_PATH.rstrip("/") or path.startswith(CONSULTACENSO_PATH):
        return "consultacenso"
    return None


def checked(name: str, state: str) -> tuple[str, str]:
    """(name, state) when both are known; ValueError otherwise (the handle, the command and the endpoint share it)."""
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}: one of {', '.join(SOURCES)}")
    if state not in SOURCE_STATES:
        raise ValueError(f"unknown source state {state!r}: one of {', '.join(SOURCE_STATES)}")
    return name, state


def parse_source_state(text: str) -> tuple[str, str]:
    """ "wsp=changed" -> ("wsp", "changed"); ValueError on anything else."""
    name, sep, state = text.partition("=")
    if not sep:
        raise ValueError(f"expected SOURCE=STATE, got {text!r}")
    return checked(name.strip(), state.strip())


def intercepted(handler: _Handler) -> bool:
    """Answer for a source that is down or changed (True: answered); False lets the request through."""
    path = handler.request_path
    source = source_of(path)
    if source is None:
        return False
    with handler.state.lock:
        state = handler.state.sources[source]
    if state == "down":
        handler._record(answer="dropped")
        handler.close_connection = True
        return True
    if state != "changed":
        return False
    handler._body()  # read, so the connection stays usable
    handler._record(answer="changed")
    if handler.command == "GET" and path in (PATH, CONSULTACENSO_PATH):
        handler._send(200, CHANGED_PAGE, "text/html; charset=utf-8")
    elif handler.command == "GET" and path == CONSULTACENSO_PATH.rstrip("/"):
        handler._send(302, "", "text/plain", {"Location": CONSULTACENSO_PATH})
    else:
        handler._json(CHANGED_ANSWER)
    return True


def control(handler: _Handler) -> None:
    """GET: every source's state; POST name=...&state=...: set one (400 on an unknown name or state)."""
    state = handler.state
    handler._record()
    if handler.command == "POST":
        params = handler._params()
        try:
            name, value = checked(params.get("name", ""), params.get("state", ""))
        except ValueError as exc:
            return handler._json({"error": str(exc), "sources": SOURCES, "states": SOURCE_STATES}, status=400)
        with state.lock:
            state.sources[name] = value
        return handler._json({"name": name, "state": value})
    with state.lock:
        sources = dict(state.sources)
    return handler._json(sources)
