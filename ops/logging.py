"""structlog set-up, done once from settings: JSON lines to logs/ops.jsonl (rotated), readable console on stderr.

Every event passes through a scrubber that masks cedula-shaped numbers in string values: services already log the
masked form, the scrubber is the net under them (third-party messages, exception text).
"""

from __future__ import annotations

import logging
import logging.handlers
import time
from pathlib import Path
from typing import Any

import structlog

from cedula.normalize import scrub_text

_configured = False


def _scrub_event(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = scrub_text(value)
    return event_dict


def configure_logging(
    *, log_dir: Path, level: str, console_format: str, max_bytes: int, backup_count: int
) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    log_dir.mkdir(parents=True, exist_ok=True)

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    def formatter(renderer: Any) -> structlog.stdlib.ProcessorFormatter:
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _scrub_event,
                renderer,
            ],
        )

    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / "ops.jsonl", maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8", delay=True
    )
    file_handler.setFormatter(formatter(structlog.processors.JSONRenderer()))

    console = logging.StreamHandler()  # stderr: stdout stays clean for machine-readable command output
    if console_format == "json":
        console.setFormatter(formatter(structlog.processors.JSONRenderer()))
    else:
        console.setFormatter(formatter(structlog.dev.ConsoleRenderer(colors=False)))

    root = logging.getLogger()
    root.handlers[:] = [file_handler, console]
    root.setLevel(level.upper())
    for noisy in ("asyncio", "urllib3", "django.db.backends", "faker", "factory"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The request log below replaces Django's own per-request lines.
    logging.getLogger("django.server").setLevel(logging.WARNING)


class RequestLogMiddleware:
    """One structured line per request: method, path (no query string), status and duration."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.logger = structlog.get_logger("ops.request")

    def __call__(self, request: Any) -> Any:
        started = time.perf_counter()
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
        return response
