"""The registry's sources (docs/registry.md, "Sources"; cedula.registry.sources, cedula.services.sources).

Not a settings module of its own: ops/settings.py, the one entry point, star-imports it after the environment files
are read, so the values below see the same environment. Private names (leading underscore) stay here.
"""

from __future__ import annotations

import environ

from cedula.registry.sources import parse_sources

_env = environ.Env()

# The registry's pages that answer the census question, in the order they are used: the worker uses the first usable
# one and moves to the next when it changes shape or cannot be loaded. One throttle, one budget and one set of quiet
# hours cover them all together: a second source is for availability, never for more throughput.
try:
    REGISTRY_SOURCES = parse_sources(_env.str("REGISTRY_SOURCES", default="wsp"))  # the ordered names
except ValueError as _exc:
    raise environ.ImproperlyConfigured(str(_exc)) from None
REGISTRY_CONSULTACENSO_URL = _env.str(
    "REGISTRY_CONSULTACENSO_URL", default="https://consultacenso.registraduria.gov.co/"
)
# While a later source is in use, the first is probed (its page loaded, no POST) this often to move back; the interval
# doubles while it stays unusable, up to REGISTRY_BREAKER_MAX_COOLDOWN_S.
REGISTRY_SOURCE_PROBE_S = _env.float("REGISTRY_SOURCE_PROBE_S", default=600.0)
if REGISTRY_SOURCE_PROBE_S <= 0:
    raise environ.ImproperlyConfigured("REGISTRY_SOURCE_PROBE_S must be > 0.")
