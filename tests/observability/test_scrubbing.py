"""No cedula leaves in a Sentry event: every part of it is scrubbed (pure: no database, no network)."""

from __future__ import annotations

import json

import pytest

from ops.logging import scrub_value
from ops.sentry import before_breadcrumb, before_send

CEDULA = "1023456789"
DOTTED = "1.023.456.789"


def leaks(obj: object) -> list[str]:
    text = json.dumps(obj, default=str)
    return [form for form in (CEDULA, DOTTED, "23456789") if form in text]


def full_event() -> dict:
    return {
        "event_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "release": "20260302",
        "environment": "production",
        "message": f"lookup failed for {CEDULA}",
        "logentry": {"message": "lookup failed for %s", "params": [CEDULA], "formatted": f"lookup failed for {CEDULA}"},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"no answer for cedula {DOTTED}",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "lookup",
                                "lineno": 42,
                                "vars": {"cedula": f"'{CEDULA}'", "claim": f"Claim(cedula='{CEDULA}', attempt=2)"},
                                "context_line": "    raise ValueError(cedula)",
                            }
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {"values": [{"category": "httpx", "message": f"GET /consulta?nuip={CEDULA}", "data": {}}]},
        "request": {
            "url": f"https://ops.example.com/admin/cedula/?q={CEDULA}",
            "query_string": f"q={CEDULA}",
            "data": {"cedula": CEDULA, "email": "x@example.com", CEDULA: "as a key"},
            "headers": {"Referer": f"https://ops.example.com/?cedula={CEDULA}"},
        },
        "extra": {"cedula": int(CEDULA), "rows": [CEDULA, {"nested": DOTTED}]},
        "contexts": {"lookup": {"input": f" {CEDULA} "}, "log": {"event": "lookup_crashed", "cedula": CEDULA}},
        "tags": {"last_cedula": CEDULA},
        "user": {"username": CEDULA},
        "transaction": f"/perfil/{CEDULA}/",
    }


def test_the_scrubber_masks_a_cedula_in_every_part_of_an_event():
    event = before_send(full_event(), {})

    assert leaks(event) == []
    assert event["message"] == "lookup failed for ***6789"
    assert event["exception"]["values"][0]["value"] == "no answer for cedula ***6789"
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["cedula"] == "***6789"
    assert event["breadcrumbs"]["values"][0]["message"] == "GET /consulta?nuip=***6789"
    assert event["request"]["data"]["cedula"] == "***6789"
    assert event["extra"]["cedula"] == "***6789"
    assert event["tags"]["last_cedula"] == "***6789"


@pytest.mark.parametrize(
    ("part", "path"),
    [
        ("message", ["message"]),
        ("logentry params", ["logentry", "params", 0]),
        ("exception value", ["exception", "values", 0, "value"]),
        ("frame variables", ["exception", "values", 0, "stacktrace", "frames", 0, "vars", "claim"]),
        ("breadcrumbs", ["breadcrumbs", "values", 0, "message"]),
        ("request url", ["request", "url"]),
        ("request query", ["request", "query_string"]),
        ("request headers", ["request", "headers", "Referer"]),
        ("extra", ["extra", "rows", 1, "nested"]),
        ("contexts", ["contexts", "lookup", "input"]),
        ("tags", ["tags", "last_cedula"]),
        ("user", ["user", "username"]),
        ("transaction", ["transaction"]),
    ],
)
def test_each_part_of_an_event_is_scrubbed(part, path):
    value = before_send(full_event(), {})
    for step in path:
        value = value[step]
    assert leaks(value) == [], part
    assert "***" in str(value), part


def test_the_scrubber_masks_a_cedula_used_as_a_dict_key():
    assert list(before_send(full_event(), {})["request"]["data"]) == ["cedula", "email", "***6789"]


def test_the_scrubber_leaves_ids_release_and_small_numbers_alone():
    event = before_send(full_event(), {})

    assert event["event_id"] == "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert event["release"] == "20260302"
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["lineno"] == 42
    assert scrub_value({"cedula_id": 123456, "duration_ms": 1200, "attempt": 3}) == {
        "cedula_id": 123456,
        "duration_ms": 1200,
        "attempt": 3,
    }


def test_a_short_cedula_is_masked_under_a_cedula_key():
    assert scrub_value({"cedula": "12345", "nuip": 987}) == {"cedula": "***2345", "nuip": "***987"}


def test_breadcrumbs_are_scrubbed_before_they_are_kept():
    crumb = before_breadcrumb({"message": f"navigating to ?nuip={CEDULA}", "data": {"cedula": CEDULA}}, {})
    assert leaks(crumb) == []
