"""The registry's sources behind one interface (base.Source): the census page we have always used (`wsp`) and
consultacenso. Each has its own selectors with fallbacks and its own pure answer reader, and each yields the same
LookupResult with the same outcome and error kinds. Which one the worker uses, and when it moves to the next, is
cedula.services.sources' business; politeness (one throttle, one budget, one set of quiet hours) covers them all
together. Adding a source: docs/registry.md, "Adding a source".
"""

from __future__ import annotations

from cedula.registry.sources.base import Read, Source
from cedula.registry.sources.consultacenso import CONSULTACENSO
from cedula.registry.sources.wsp import WSP

SOURCES: dict[str, Source] = {source.name: source for source in (WSP, CONSULTACENSO)}
DEFAULT_SOURCE = WSP.name


def source_named(name: str) -> Source:
    """The source called `name`; an unknown name (an attempt recorded before sources existed) is the first page."""
    return SOURCES.get(name) or WSP


def parse_sources(text: str) -> tuple[str, ...]:
    """REGISTRY_SOURCES ("wsp,consultacenso") -> the ordered names; ValueError on an unknown, repeated or empty list."""
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        raise ValueError(f"REGISTRY_SOURCES: fuente desconocida {', '.join(unknown)} (conocidas: {', '.join(SOURCES)})")
    if not names:
        raise ValueError("REGISTRY_SOURCES: al menos una fuente (p. ej. «wsp»)")
    if len(set(names)) != len(names):
        raise ValueError("REGISTRY_SOURCES: una fuente repetida")
    return names


__all__ = ["CONSULTACENSO", "DEFAULT_SOURCE", "SOURCES", "WSP", "Read", "Source", "parse_sources", "source_named"]
