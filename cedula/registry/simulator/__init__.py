"""A local stand-in for the Registraduría's census page and its second source, for development, the demo and the tests.

It behaves like the real page as DESIGN.md describes it: GET /censo/consultar/ serves the form (#nuip, select#tipo,
a hidden #token bound to the PHPSESSID cookie, #enviar, #success); the page's own script POSTs multipart/form-data to
the same URL and renders the JSON answer {"success", "data": {"message": html}} into #success, with "reload": true
when the token is stale. It answers with an HTTP 200 F5-style block page when the client looks automated
(navigator.webdriver true, "HeadlessChrome" in the User-Agent) or asks faster than `min_gap_s`. In captcha mode it
refuses a missing, invalid, reused or expired g-recaptcha-response and serves a solver service in both protocols
(solver.py: 2captcha's /in.php, /res.php and the createTask JSON API), with a solve delay and selectable errors.
The page title says it is a stand-in.

The same server (one port, one process) also serves the registry's second source, consultacenso
(consultacenso.py), at CONSULTACENSO_PATH: GET /consultacenso/ (#consultaForm, #documento, select#eleccion filled by
the page's script from back/api/elecciones, #submitBtn, #resultado), GET /consultacenso/back/api/elecciones and POST
/consultacenso/back/api/consulta (JSON in, JSON out; keys upper-case for odd documentos). It gives every cedula the
same answer as the census page, with the same checks and faults; the minimum gap between lookups is one clock for
both pages (one registry, one WAF).

Each source can be switched while the stand-in runs (switch.py): "ok", "changed" (a redesigned page the client cannot
know, and an unknown JSON shape from its POST/API) or "down" (its requests dropped without a byte; `set_down` still
drops the whole site). SimulatorHandle.set_source(name, state) / source_state(name), start_simulator(source_states=),
`registry_simulator --source-state wsp=changed`, or for demos over HTTP: POST /__stand-in/source with form fields
`name` and `state` (GET answers every state as JSON).

Answers are deterministic per cedula: demo_cedulas.json (fictional people), else a hash of the number (about 80 %
active, 10 % cancelled, 10 % not found). `expected_outcome(cedula)` tells what our client should end with.

Fault cedulas:

    1000000001  hang: the POST never answers                        -> error/timeout
    1000000002  HTTP 500 on the POST                                -> error/server_error
    1000000003  malformed answer (JSON with garbage HTML)           -> error/unexpected_page
    1000000004  slow render: answers after ~4 s, then succeeds      -> active
    1000000005  always the block page                               -> error/blocked
    1000000006  always "reload": true (stale token)                 -> error/expired
    1000000007  connection dropped mid-answer                       -> error/network
    1000000008  flaky: blocked on its first request per server run, then active (a retry recovers)

Page behaviours (behaviours.Behaviours; `registry_simulator` flags, start_simulator / fixture keywords), each off by
default, all on with `--realistic` / `realistic=True`: a loading placeholder in the answer area before the POST, a
first-visit JavaScript interstitial that sets a cookie and reloads, the form hidden at load and shown after a delay,
a delay between the POST's answer and its rendering, the answer re-rendered inside extra markup, and renamed
elements (button id, select id, answer area id). None of them changes what our client must record.
"""

from __future__ import annotations

from cedula.registry.simulator.behaviours import Behaviours
from cedula.registry.simulator.consultacenso import CONSULTACENSO_PATH
from cedula.registry.simulator.handle import SimulatorHandle
from cedula.registry.simulator.outcomes import FAULT_CEDULAS, Outcome, demo_cedulas, expected_outcome, outcome_for
from cedula.registry.simulator.start import start_simulator

__all__ = [
    "Behaviours",
    "CONSULTACENSO_PATH",
    "FAULT_CEDULAS",
    "Outcome",
    "SimulatorHandle",
    "demo_cedulas",
    "expected_outcome",
    "outcome_for",
    "start_simulator",
]
