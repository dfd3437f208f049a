"""Sentry: switched on by SENTRY_DSN. No personal data leaves: send_default_pii is off and every event is scrubbed
of cedula-shaped numbers before it is sent.

Grouping: a structlog line that reaches Sentry (level error and up) would otherwise be titled with its whole event
dict, so every cedula, task and attempt would open a new issue. It is titled with its event name instead, its fields
go to the "log" context, and lookup errors get a fingerprint built from their error kind.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger

from ops.logging import scrub_value

# Top-level fields that are ours or the SDK's, never personal data; a date-like release such as "20250101" must
# keep its digits.
_UNSCRUBBED = frozenset(
    {
        "event_id",
        "timestamp",
        "start_timestamp",
        "release",
        "dist",
        "environment",
        "platform",
        "level",
        "type",
        "sdk",
        "modules",
        "fingerprint",
    }
)
# Tags worth filtering an issue stream by; everything else of a log line lives in its context.
_TAG_KEYS = ("error_kind", "outcome")
# structlog's own bookkeeping, noise in an event.
_LOG_META = frozenset({"_record", "_from_structlog", "exc_info", "timestamp", "level", "logger"})


def before_send(event: dict[str, Any], hint: dict[str, Any] | None) -> dict[str, Any]:
    """Mask cedula-shaped numbers everywhere in the event: message, exception values, stack frames, breadcrumbs,
    request, extra, contexts, tags, user."""
    _structure_log_event(event, hint or {})
    return {key: value if key in _UNSCRUBBED else scrub_value(value, key) for key, value in event.items()}


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None) -> dict[str, Any]:
    fields = _log_fields(hint or {})
    if fields is not None:
        crumb["message"] = str(fields.get("event", crumb.get("message", "")))
        crumb["data"] = {k: v for k, v in fields.items() if k not in _LOG_META and k != "event"}
    return scrub_value(crumb)


def lookup_fingerprint(*, event_name: str, error_kind: str | None, exception_type: str | None) -> list[str]:
    """One issue per kind of lookup failure, whichever cedula, attempt or task met it."""
    return ["lookup-error", error_kind or event_name, *([exception_type] if exception_type else [])]


def _log_fields(hint: dict[str, Any]) -> dict[str, Any] | None:
    record = hint.get("log_record")
    msg = getattr(record, "msg", None)
    return msg if isinstance(msg, dict) else None


def _structure_log_event(event: dict[str, Any], hint: dict[str, Any]) -> None:
    fields = _log_fields(hint)
    if fields is None:
        return
    name = str(fields.get("event", ""))
    data = {k: v for k, v in fields.items() if k not in _LOG_META}
    event["logentry"] = {"message": name, "params": []}
    event.setdefault("contexts", {})["log"] = data
    tags = event.setdefault("tags", {})
    for key in _TAG_KEYS:
        if fields.get(key):
            tags[key] = str(fields[key])
    error_kind = fields.get("error_kind") or None
    if name.startswith("lookup_") or error_kind:
        exc_values = (event.get("exception") or {}).get("values") or []
        exc_type = exc_values[-1].get("type") if exc_values else None
        event["fingerprint"] = lookup_fingerprint(
            event_name=name, error_kind=str(error_kind) if error_kind else None, exception_type=exc_type
        )


def report_failed_task(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    """A task that raised: Django-Q2 keeps only a string (we ignore its logger), so report it here, once per task
    function. Lookup errors never get here: the lookup service classifies and logs them itself."""
    if task.get("success", True):
        return
    name = str(task.get("func") or getattr(func, "__name__", "unknown"))
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("task", name)
        scope.set_context("task", {"id": task.get("id"), "name": task.get("name"), "error": str(task.get("result"))})
        scope.fingerprint = ["task-failed", name]
        sentry_sdk.capture_message(f"task {name} failed", level="error")


def connect_task_reporting() -> None:
    """Call once the app registry is ready (an AppConfig.ready / cedula.signals): django_q.signals imports models."""
    from django_q.signals import post_execute_in_worker

    post_execute_in_worker.connect(report_failed_task, dispatch_uid="ops_sentry_failed_task")


def init_sentry(*, dsn: str, environment: str, release: str | None) -> None:
    # django-q logs failures as plain strings that duplicate our own structured events.
    ignore_logger("django-q")
    with warnings.catch_warnings():
        # send_default_pii=False is the point (no user, cookies or IP), even if newer SDKs prefer data_collection.
        warnings.filterwarnings("ignore", message="The send_default_pii option is deprecated")
        _init(dsn=dsn, environment=environment, release=release)


def _init(*, dsn: str, environment: str, release: str | None) -> None:
    # The hooks read and return plain dicts; the SDK types the same data as its Event TypedDict.
    scrub_hook: Any = before_send
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        send_default_pii=False,
        before_send=scrub_hook,
        before_send_transaction=scrub_hook,
        before_breadcrumb=before_breadcrumb,
        traces_sample_rate=0.0,
    )
