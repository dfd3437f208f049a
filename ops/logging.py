"""structlog set-up, done once from settings: JSON lines to logs/ops.jsonl (rotated), readable console on stderr.

Every event passes through a scrubber that masks cedula-shaped numbers in string values: services already log the
masked form, the scrubber is the net under them (third-party messages, exception text).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog
from concurrent_log_handler import ConcurrentRotatingFileHandler
from django.core.exceptions import ImproperlyConfigured

from cedula.normalize import mask_cedula, scrub_text

_configured = False

# Keys whose value is a cedula whatever its shape: a short one (3-5 digits) or an int escapes the text pattern.
CEDULA_KEYS = frozenset({"cedula", "nuip", "documento", "document"})


def scrub_value(value: Any, key: str | None = None) -> Any:
    """Mask cedula-shaped numbers in a value, recursing into dicts, lists and tuples (dict keys included)."""
    if key is not None and key.lower() in CEDULA_KEYS and isinstance(value, (str, int)) and not isinstance(value, bool):
        return mask_cedula(str(value))
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            scrub_text(k) if isinstance(k, str) else k: scrub_value(v, k if isinstance(k, str) else None)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_value(v) for v in value)
    return value


def _scrub_event(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return {key: scrub_value(value, key) for key, value in event_dict.items()}


def _wrap_for_formatter(logger: Any, name: str, event_dict: MutableMapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """structlog's wrap_for_formatter, plus the exception on the stdlib record itself.

    Sentry's logging integration reads record.exc_info: without it `logger.exception(...)` would reach Sentry as a
    bare message with no stack trace.
    """
    args, wrapped = structlog.stdlib.ProcessorFormatter.wrap_for_formatter(logger, name, event_dict)
    kwargs: dict[str, Any] = dict(wrapped)
    exc_info: Any = event_dict.get("exc_info")
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        kwargs["exc_info"] = exc_info
    return args, kwargs


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def build_formatter(fmt: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every handler: "json" (one object a line) or "console" (readable, for development)."""
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Render the traceback to text before scrubbing: exception messages carry whatever the caller put there.
            structlog.processors.format_exc_info,
            _scrub_event,
            renderer,
        ],
    )


class SharedRotatingFileHandler(ConcurrentRotatingFileHandler):
    """A size-rotated file that several processes (web workers, the qcluster's children) append to safely.

    concurrent-log-handler does the multi-process part: a lock file serialises every write and rotation, and a writer
    reopens the path once another process rotated it. It rotates once the file has *reached* maxBytes; like the stdlib
    handler, this one rotates before a line would take the file past it, so no file outgrows LOG_MAX_BYTES.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        # emit() formats before it takes the lock and asks shouldRollover() under it: the length rides on the record.
        record.ops_line_bytes = len(line.encode(self.encoding or "utf-8", "replace")) + len(self.terminator)
        return line

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        if self.maxBytes <= 0:
            return False
        try:
            size = os.path.getsize(self.baseFilename)
        except OSError:
            return False
        # An empty file takes the line whatever its length: rotating it would only make empty files.
        return size > 0 and size + int(getattr(record, "ops_line_bytes", 0)) > self.maxBytes


def resolve_log_dir(value: str, *, base_dir: Path) -> Path:
    """LOG_DIR as an absolute path: a relative value is taken from the project root, never from the working directory.

    An empty value would put the log and its lock file wherever a command happens to run: refused at start-up.
    """
    if not value.strip():
        raise ImproperlyConfigured("LOG_DIR must not be empty (default: logs, under the project root).")
    path = Path(value.strip()).expanduser()
    return path if path.is_absolute() else base_dir / path


def configure_logging(*, log_dir: Path, level: str, console_format: str, max_bytes: int, backup_count: int) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    log_dir.mkdir(parents=True, exist_ok=True)

    structlog.configure(
        processors=[*_SHARED, _wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: structlog.testing.capture_logs() must be able to swap the processors of module-level loggers.
        cache_logger_on_first_use=False,
    )

    file_handler = SharedRotatingFileHandler(
        log_dir / "ops.jsonl", maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
    )
    file_handler.setFormatter(build_formatter("json"))

    console = logging.StreamHandler()  # stderr: stdout stays clean for machine-readable command output
    console.setFormatter(build_formatter("json" if console_format == "json" else "console"))

    root = logging.getLogger()
    root.handlers[:] = [file_handler, console]
    root.setLevel(level.upper())
    for noisy in ("asyncio", "urllib3", "django.db.backends", "faker", "factory"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The request log below replaces Django's own per-request lines.
    logging.getLogger("django.server").setLevel(logging.WARNING)


class RequestLogMiddleware:
    """One structured line per request: method, path (no query string), status and duration.

    Every line logged while the request runs carries its request_id (also sent back as X-Request-ID).
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.logger = structlog.get_logger("ops.request")

    def __call__(self, request: Any) -> Any:
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        # A thread of the web server serves many requests: nothing bound by the previous one may leak into this one.
        structlog.contextvars.clear_contextvars()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = self.get_response(request)
            if not request.path.startswith("/static/"):
                self.logger.info(
                    "http_request",
                    method=request.method,
                    path=request.path,
                    status=response.status_code,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    user_id=getattr(getattr(request, "user", None), "pk", None),
                )
        response.headers.setdefault("X-Request-ID", request_id)
        return response
