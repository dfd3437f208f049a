"""The runnable examples of README.md and docs/*.md work as written, from the project root, after `make run`.

Mark an example with an HTML comment right before its fenced block (```console, commands start with `$ `; the lines
after a command are its expected stdout):

    <!-- example: runnable -->                         run it; exit 0; stdout as shown
    <!-- example: runnable; varies: duration_ms -->    JSON output: these keys may differ
    <!-- example: runnable; stand-in: captcha -->      against the stand-in in captcha mode
    <!-- example: runnable; server -->                 it serves until stopped: it must answer on its port

What `make run` provides is stood in for: a fresh database migrated and loaded with the demo cedulas (in a temporary
VAR_DIR), and the stand-in registry. The stand-in runs on a free port rather than 8001 (another checkout may hold
it), so `127.0.0.1:8001` in a command is rewritten to it, and REGISTRY_URL (whose default is that address) names it.
Nothing else is added: the environment is a bare terminal's, without the test run's SECRET_KEY.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.serial  # the commands of the README run as written, one at a time: make test runs these alone

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_MARKED = re.compile(r"<!--\s*example:\s*runnable(?P<options>[^>]*?)\s*-->\s*\n```[\w-]*\n(?P<body>.*?)\n```", re.S)
_FENCED = re.compile(r"^```[\w-]*\n(.*?)^```", re.S | re.M)
MAKE_RUN_PORT = "8001"


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Example:
    where: str
    options: dict[str, str]
    steps: list[Step]


def _options(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, _, value = part.partition(":")
        found[key.strip()] = value.strip() or "yes"
    return found


def runnable_examples() -> list[Example]:
    examples = []
    for document in DOCUMENTS:
        text = document.read_text()
        for match in _MARKED.finditer(text):
            steps: list[Step] = []
            for line in match.group("body").splitlines():
                if line.startswith("$ "):
                    steps.append(Step(line[2:].strip()))
                elif line.strip() and steps:
                    steps[-1].expected.append(line.strip())
            where = f"{document.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}"
            examples.append(Example(where, _options(match.group("options")), steps))
    return examples


EXAMPLES = runnable_examples()


def test_the_readme_and_the_docs_mark_their_runnable_examples():
    commands = [step.command for example in EXAMPLES for step in example.steps]
    assert all(example.steps for example in EXAMPLES), [e.where for e in EXAMPLES if not e.steps]
    assert "./dev lookup_cedula 25.837.220 --json" in commands
    assert "./dev import_cedulas docs/examples/cedulas.csv" in commands
    assert "./dev registry_simulator --port 8001" in commands
    assert len(EXAMPLES) >= 6


_PRODUCTION = re.compile(r"<!--\s*example:\s*production\s*-->\s*\n```[\w-]*\n.*?\n```", re.S)


def test_no_document_runs_manage_py_without_the_development_settings():
    """`python manage.py X` fails in a new terminal (no SECRET_KEY): development commands go through ./dev. A block
    of production commands (run with the production environment) is marked `<!-- example: production -->`."""
    offenders = [
        f"{document.relative_to(ROOT)}: {line.strip()}"
        for document in DOCUMENTS
        for block in _FENCED.findall(_PRODUCTION.sub("", document.read_text()))
        for line in block.splitlines()
        if re.search(r"\bmanage\.py\b", line) and not re.match(r"^(\$ )?(\w+=\S+ )*\./dev\b", line.strip())
    ]
    assert offenders == []


# --- running them ----------------------------------------------------------------------------------------------------


def _terminal(var: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "VAR_DIR": str(var),
        "LOG_DIR": str(var / "logs"),
        "OPS_IGNORE_DOTENV": "1",  # a developer's own .env is not part of what the README promises
    }


@pytest.fixture(scope="module")
def made_var(tmp_path_factory) -> Path:
    """var/ as `make run` leaves it: migrated, the demo cedulas loaded. Built once, copied for each example."""
    var = tmp_path_factory.mktemp("make-run") / "var"
    for command in (["./dev", "migrate", "--noinput", "-v", "0"], ["./dev", "load_demo_cedulas"]):
        subprocess.run(command, cwd=ROOT, env=_terminal(var), check=True, capture_output=True, timeout=300)
    return var


@pytest.fixture
def after_make_run(made_var, tmp_path) -> dict[str, str]:
    """A bare terminal's environment on its own copy of that var/: every example starts where `make run` left off."""
    var = tmp_path / "var"
    shutil.copytree(made_var, var, ignore=shutil.ignore_patterns("logs"))
    return _terminal(var)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_output(step: Step, stdout: str, varies: set[str], where: str) -> None:
    if not step.expected:
        return
    actual = [line.strip() for line in stdout.splitlines() if line.strip()]
    if all(line.startswith("{") for line in step.expected):

        def stable(lines: list[str]) -> list[dict[str, object]]:
            return [{k: v for k, v in json.loads(line).items() if k not in varies} for line in lines]

        assert stable(actual) == stable(step.expected), f"{where}: `{step.command}` printed\n{stdout}"
    else:
        missing = [line for line in step.expected if line not in actual]
        assert missing == [], f"{where}: `{step.command}` printed\n{stdout}"


def _serve(command: str, env: dict[str, str], port: int, where: str) -> None:
    server = subprocess.Popen(
        command, shell=True, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"{where}: `{command}` exited: {server.stdout.read().decode()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/censo/consultar/", timeout=2) as response:
                    page = response.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{where}: `{command}` never answered on port {port}"
                time.sleep(0.2)
        assert 'id="nuip"' in page, f"{where}: `{command}` does not serve the form"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.mark.integration
@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_a_runnable_example_works_as_written(example: Example, after_make_run, request):
    site = request.getfixturevalue(
        "registry_site_captcha" if example.options.get("stand-in") == "captcha" else "registry_site"
    )
    env = {**after_make_run, "REGISTRY_URL": site.url}
    varies = {key.strip() for key in example.options.get("varies", "").split(",") if key.strip()}
    for step in example.steps:
        command = step.command.replace(f"127.0.0.1:{MAKE_RUN_PORT}", f"127.0.0.1:{site.port}")
        if "server" in example.options:
            port = _free_port()
            _serve(command.replace(f"--port {MAKE_RUN_PORT}", f"--port {port}"), env, port, example.where)
            continue
        result = subprocess.run(
            command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
        )
        assert result.returncode == 0, f"{example.where}: `{step.command}` exited {result.returncode}\n{result.stderr}"
        _check_output(step, result.stdout, varies, example.where)
