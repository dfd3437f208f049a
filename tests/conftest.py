"""Shared fixtures. Each area owns a delimited section below; keep fixtures thin wrappers over factories/helpers."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path):
    # Tests never wait the production 5 s gap unless they ask for it.
    settings.REGISTRY_MIN_GAP_S = 0
    settings.LOOKUP_RETRY_DELAYS_S = [0.5, 1, 2]
    # The captcha services' manners (15 s before the first poll, 5 s between polls), scaled to the stand-in's solves.
    settings.CAPTCHA_FIRST_POLL_S = 0.2
    settings.CAPTCHA_POLL_S = 0.1
    settings.CAPTCHA_NO_SLOT_WAIT_S = 0.2
    settings.CAPTCHA_ZERO_BALANCE_WAIT_S = 1.0
    # A solver account's silence after "zero balance" is kept per process: no test inherits another's.
    from cedula.registry.captcha import polite

    polite._QUIET_UNTIL.clear()
    # The production hasher costs ~0.5 s per login or registration.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate-limit counters live in the cache: every test starts with none.
    from django.core.cache import cache

    cache.clear()


# === factories ======================================================================================================
from tests.helpers.factories import CedulaInfoFactory, UserFactory  # noqa: E402


@pytest.fixture
def user_factory():
    return UserFactory


@pytest.fixture
def cedula_factory():
    return CedulaInfoFactory


# === registry (stand-in site, browser) ===============================================================================
from cedula.registry.simulator import start_simulator  # noqa: E402


@pytest.fixture(scope="session")
def registry_site():
    """The stand-in registry, gap 0, shared by the session: `.url` is its /censo/consultar/ page."""
    site = start_simulator(min_gap_s=0.0)
    yield site
    site.stop()


@pytest.fixture(scope="session")
def registry_site_captcha():
    """A stand-in in captcha mode; its solver API lives at `.base_url` and takes `.solver_key`."""
    site = start_simulator(min_gap_s=0.0, captcha=True)
    yield site
    site.stop()


@pytest.fixture
def registry_site_factory():
    """Start private stand-ins (fresh state: min gap, captcha, the flaky cedula's first answer): factory(**kwargs)."""
    sites = []

    def start(**kwargs):
        site = start_simulator(**kwargs)
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.stop()


# === queue (real qcluster worker) ===================================================================================
from tests.helpers.worker import WorkerProcess  # noqa: E402


@pytest.fixture
def start_worker(transactional_db, registry_site, tmp_path):
    """Start a real `manage.py qcluster` on the test database and the stand-in registry: start_worker(**env)."""
    started: list[WorkerProcess] = []

    def start(registry_url: str | None = None, **env: str) -> WorkerProcess:
        worker = WorkerProcess(registry_url=registry_url or registry_site.url, log_dir=tmp_path / "logs", extra_env=env)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


# === the quick loop (`make quick` = -m "not integration", in parallel) ===============================================
# What starts Chromium, a qcluster process or the live server belongs to the integration run: a test that asks for it
# without the marker would slow the quick loop down, and fight the other xdist workers for the machine.
INTEGRATION_FIXTURES = frozenset({"start_worker", "chromium", "browser_page", "browser_runner", "live_server"})


def pytest_collection_modifyitems(config, items):
    unmarked = [
        f"{item.nodeid} uses {', '.join(sorted(INTEGRATION_FIXTURES & set(getattr(item, 'fixturenames', ()))))}"
        for item in items
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("integration")
    ]
    if unmarked:
        raise pytest.UsageError("mark these tests @pytest.mark.integration:\n  " + "\n  ".join(unmarked))
    if os.environ.get("TESTS_DATABASE_ONLY") == "1":
        _keep_database_tests(config, items)


# The scale-out pass of .ci/run (PostgreSQL + Redis) reruns every test that reaches the database, the broker or the
# shared cache through Django; a test that touches none of them (the parser, the browser against the stand-in, pure
# helpers) would run the same code twice, and so would one marked `screens` (screenshots and browser checks of pages
# whose rows are only set up to be looked at). Those are deselected there (counted in the report).
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_setup", "live_server", "admin_client", "admin_user"}
)


def _keep_database_tests(config, items):
    keep, dropped = [], []
    for item in items:
        uses = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("django_db")
        uses = uses and not item.get_closest_marker("screens")
        (keep if uses else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
