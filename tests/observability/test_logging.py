"""structlog everywhere: JSON lines in logs/ (rotated), readable console, lookup context, request logs, no cedula."""

from __future__ import annotations

import json
import logging
import multiprocessing
import re
from pathlib import Path

import pytest
import structlog
from django.conf import settings as django_settings
from structlog.testing import capture_logs

from cedula import services
from cedula.models import CedulaInfo, LookupTicket, Priority, Source
from ops.logging import SharedRotatingFileHandler, build_formatter
from tests.helpers.observability import bind_task_like_django_q, report

# Typed the way people type them; canonical forms below.
TYPED = ["1.000.000.005", "52 345 678", "0079123456"]
CANONICAL = ["1000000005", "52345678", "79123456"]


def full_forms(cedula: str) -> list[str]:
    grouped = f"{int(cedula):,}"
    return [cedula, grouped, grouped.replace(",", ".")]


def assert_no_full_cedula(text: str, cedulas: list[str]) -> None:
    found = [form for cedula in cedulas for form in full_forms(cedula) if form in text]
    assert found == [], f"full cedula numbers in the log output: {found}"


def fake_registry(cedula: str):
    """The registry leaves the machine: answer here what the stand-in would (one blocked, one crash, one active)."""
    if cedula == "1000000005":
        return report("error", "blocked", duration_ms=850)
    if cedula == "79123456":
        raise RuntimeError(f"page crashed while looking up {cedula}")
    return report("active", duration_ms=1450)


def run_queue(run_lookup, run_probe=None) -> None:
    runs = 0
    while CedulaInfo.objects.filter(next_attempt_at__isnull=False).exists():
        runs += 1
        ticket = LookupTicket.objects.create().pk
        bind_task_like_django_q(f"task-{ticket}", f"lookup_next-{ticket}")
        with structlog.contextvars.bound_contextvars(ticket_id=ticket):
            services.lookup_run_ticket(
                ticket_id=ticket,
                run_lookup=run_lookup,
                task_id=structlog.contextvars.get_contextvars()["task_id"],
                max_wait_s=5,
                run_probe=run_probe,  # the gate's probe, as the worker passes it (issue 23)
            )
        structlog.contextvars.clear_contextvars()
        assert runs < 50, "the queue must drain"  # count runs: PostgreSQL ids do not restart per test


def test_a_full_run_logs_no_full_cedula_and_every_lookup_line_carries_its_context(db, settings, log_output):
    settings.LOOKUP_RETRY_DELAYS_S = [0, 0]
    for typed in TYPED:
        services.cedula_request_lookup(cedula=typed, priority=Priority.STAFF, source=Source.ADMIN)

    run_queue(fake_registry)

    assert_no_full_cedula(log_output.text(), CANONICAL)
    finished = log_output.events("lookup_finished")
    assert len(finished) == 1 + 3 + 3  # active once; blocked and crashed: first try + 2 retries
    for line in finished:
        assert line["task_id"].startswith("task-")
        assert re.fullmatch(r"\*\*\*\d{4}", line["cedula"])
        assert {"attempt", "outcome", "error_kind", "duration_ms"} <= line.keys()
    assert {(line["cedula"], line["outcome"], line["error_kind"]) for line in finished} == {
        ("***0005", "error", "blocked"),
        ("***3456", "error", "browser"),
        ("***5678", "active", None),
    }
    assert sorted(line["attempt"] for line in finished if line["cedula"] == "***0005") == [1, 2, 3]
    # The crash's traceback is in the log, with the cedula in its message masked.
    (crash, *_) = log_output.events("lookup_crashed")
    assert "page crashed while looking up ***3456" in crash["exception"]


def test_services_log_the_masked_form_themselves(db, settings):
    """The scrubber is a net, not the plan: the raw event dicts services emit hold no full cedula either."""
    settings.LOOKUP_RETRY_DELAYS_S = []
    with capture_logs() as logs:
        for typed in TYPED[:2]:
            services.cedula_request_lookup(cedula=typed, priority=Priority.STAFF, source=Source.ADMIN)
        run_queue(fake_registry)

    assert {"lookup_requested", "lookup_started", "lookup_finished"} <= {log["event"] for log in logs}
    assert_no_full_cedula(json.dumps(logs, default=str), CANONICAL[:2])


def test_console_output_is_readable_and_json_output_is_one_object_a_line(log_output):
    structlog.get_logger("cedula.services").info("lookup_finished", cedula="***0005", outcome="error")

    console = log_output.console_stream.getvalue()
    assert "lookup_finished" in console and "outcome=error" in console and not console.lstrip().startswith("{")
    (line,) = log_output.lines()
    assert line["event"] == "lookup_finished" and line["level"] == "info" and line["logger"] == "cedula.services"
    assert "timestamp" in line


def test_foreign_log_lines_are_scrubbed_too(log_output):
    logging.getLogger("django.request").error("Internal Server Error: /perfil/%s/", "1023456789")
    logging.getLogger("playwright").warning("navigating with nuip=1.023.456.789")

    assert_no_full_cedula(log_output.text(), ["1023456789"])
    assert [line["event"] for line in log_output.lines()] == [
        "Internal Server Error: /perfil/***6789/",
        "navigating with nuip=***6789",
    ]


def test_the_configured_pipeline_writes_rotated_json_files_in_the_log_dir():
    handlers = logging.getLogger().handlers
    (file_handler,) = [h for h in handlers if isinstance(h, SharedRotatingFileHandler)]
    assert Path(file_handler.baseFilename) == Path(django_settings.LOG_DIR).resolve() / "ops.jsonl"
    assert file_handler.maxBytes == django_settings.LOG_MAX_BYTES
    assert file_handler.backupCount == django_settings.LOG_BACKUP_COUNT
    assert any(type(h) is logging.StreamHandler for h in handlers)


def test_the_log_file_rotates_by_size_and_keeps_n_files(tmp_path):
    handler = SharedRotatingFileHandler(tmp_path / "ops.jsonl", maxBytes=2_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(build_formatter("json"))
    logger = logging.getLogger("tests.rotation")
    logger.addHandler(handler)
    try:
        for n in range(200):
            logger.warning("line %s of the rotation test", n)
    finally:
        logger.removeHandler(handler)
        handler.close()

    assert sorted(p.name for p in tmp_path.glob("ops.jsonl*") if not p.name.endswith(".lock")) == [
        "ops.jsonl",
        "ops.jsonl.1",
        "ops.jsonl.2",
        "ops.jsonl.3",
    ]
    for path in tmp_path.glob("ops.jsonl*"):
        if path.suffix != ".lock":
            assert path.stat().st_size <= 2_000
            assert all(json.loads(line)["event"] for line in path.read_text().splitlines())


def test_a_process_keeps_writing_to_the_live_file_after_another_process_rotated_it(tmp_path):
    # Two handlers on one path stand for two processes (web and worker) sharing logs/ops.jsonl.
    web, worker = (
        SharedRotatingFileHandler(tmp_path / "ops.jsonl", maxBytes=500, backupCount=5, encoding="utf-8")
        for _ in range(2)
    )
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "%s", ("x" * 100,), None)
    try:
        worker.emit(record)
        for _ in range(10):  # the web process rotates the file a couple of times
            web.emit(record)
        marker = logging.LogRecord("t", logging.WARNING, __file__, 1, "worker line after rotation", (), None)
        worker.emit(marker)
    finally:
        web.close()
        worker.close()

    assert "worker line after rotation" in (tmp_path / "ops.jsonl").read_text()


def _write_lines(path: str, writer: int, lines: int) -> None:
    handler = SharedRotatingFileHandler(path, maxBytes=4_000, backupCount=100, encoding="utf-8")
    handler.setFormatter(build_formatter("json"))
    try:
        for n in range(lines):
            handler.emit(logging.LogRecord("t", logging.WARNING, __file__, 1, "writer %s line %s", (writer, n), None))
    finally:
        handler.close()


def test_several_processes_share_one_rotated_file_without_losing_or_tearing_a_line(tmp_path):
    path = str(tmp_path / "ops.jsonl")
    fork = multiprocessing.get_context("fork")
    writers = [fork.Process(target=_write_lines, args=(path, w, 300)) for w in range(3)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
        assert process.exitcode == 0

    files = [p for p in tmp_path.glob("ops.jsonl*") if not p.name.endswith(".lock")]
    assert len(files) > 10, "the writers rotated the file many times between them"
    events = [json.loads(line)["event"] for p in files for line in p.read_text().splitlines()]
    assert sorted(events) == sorted(f"writer {w} line {n}" for w in range(3) for n in range(300))
    assert all(p.stat().st_size <= 4_000 for p in files)


def test_each_web_request_logs_one_line_with_its_request_id(client, db, log_output):
    response = client.get("/ingresar/?next=/perfil/1023456789/")

    (line,) = log_output.events("http_request")
    assert line["method"] == "GET"
    assert line["path"] == "/ingresar/"  # no query string
    assert line["status"] == 200
    assert line["status"] == response.status_code
    assert line["duration_ms"] >= 0
    assert line["request_id"] == response["X-Request-ID"]
    assert_no_full_cedula(log_output.text(), ["1023456789"])


@pytest.mark.integration
def test_a_full_run_through_the_stand_in_logs_no_full_cedula(db, settings, log_output, browser_runner):
    settings.LOOKUP_RETRY_DELAYS_S = [0]
    demo = ["1000000005", "52345678", "1000000003"]  # blocked, some person, malformed page
    for cedula in demo:
        services.cedula_request_lookup(cedula=cedula, priority=Priority.STAFF, source=Source.ADMIN)

    run_queue(browser_runner.lookup, browser_runner.probe_page)

    assert_no_full_cedula(log_output.text(), demo)
    finished = log_output.events("lookup_finished")
    assert {(line["cedula"], line["outcome"], line["error_kind"]) for line in finished} >= {
        ("***0005", "error", "blocked"),
        ("***0003", "error", "unexpected_page"),
    }
    for line in finished:
        assert line["task_id"].startswith("task-") and line["duration_ms"] > 0 and line["attempt"] >= 1
