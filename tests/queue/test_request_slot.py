"""The request slot: taken as the POST leaves, shared by every process on the throttle row."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cedula import services
from cedula.models import THROTTLE_PK, Throttle
from tests.helpers.worker import ROOT, WorkerProcess

pytestmark = pytest.mark.serial  # request spacing measured in seconds: make test runs these alone

SCRIPT = """
import sys, urllib.request, django
django.setup()
from django.utils import timezone
from cedula.services import throttle_mark_request_sent, throttle_take_request_slot

url, n = sys.argv[1], int(sys.argv[2])
for _ in range(n):
    assert throttle_take_request_slot(max_wait_s=60)
    request = urllib.request.Request(url, data=b"nuip=1&tipo=-1", method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    throttle_mark_request_sent(at=timezone.now())
"""


@pytest.mark.integration
def test_no_two_requests_from_two_processes_are_closer_than_the_gap(
    transactional_db, registry_site_factory, settings, tmp_path
):
    settings.REGISTRY_MIN_GAP_S = 0.3
    site = registry_site_factory(min_gap_s=0.3)
    env = WorkerProcess(registry_url=site.url, log_dir=tmp_path / "logs").env()
    procs = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, site.url, "6"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    posts = sorted(r["at"] for r in site.lookups())
    assert len(posts) == 12
    spacing = [b - a for a, b in zip(posts, posts[1:], strict=False)]
    assert min(spacing) >= 0.3, spacing
    assert all(not r["answer"].endswith("too_fast") for r in site.lookups())


def test_the_slot_waits_for_the_gap_since_the_last_request(db, settings):
    settings.REGISTRY_MIN_GAP_S = 5
    waits: list[float] = []
    assert services.throttle_take_request_slot(max_wait_s=0, sleep=waits.append)
    # The next request within the gap: no slot within a short wait, and nothing slept beyond it.
    assert not services.throttle_take_request_slot(max_wait_s=1, sleep=waits.append)
    assert waits == []
    assert Throttle.objects.get(pk=THROTTLE_PK).last_request_at is not None


def test_a_claim_paces_claims_but_leaves_the_request_slot_to_the_post(db, settings):
    from django.utils import timezone

    from tests.helpers.factories import CedulaInfoFactory

    settings.REGISTRY_MIN_GAP_S = 5
    CedulaInfoFactory(cedula="1234567", next_attempt_at=timezone.now())
    assert services.lookup_claim_next() is not None
    assert Throttle.objects.get(pk=THROTTLE_PK).last_request_at is None
    assert services.throttle_take_request_slot(max_wait_s=0)  # the claim's own POST leaves at once


def test_what_is_due_counts_only_rows_the_gate_lets_through(db, settings):
    from django.utils import timezone

    from tests.helpers.factories import CedulaInfoFactory

    now = timezone.now()
    CedulaInfoFactory(cedula="1000001", next_attempt_at=now)
    CedulaInfoFactory(cedula="1000002", next_attempt_at=now + timezone.timedelta(seconds=30))
    CedulaInfoFactory(cedula="1000003", next_attempt_at=now + timezone.timedelta(seconds=600))
    assert services.lookups_due_soon(within_s=60) == 2
    services.breaker_pause(by="ops@example.com")
    assert services.lookups_due_soon(within_s=60) == 0
