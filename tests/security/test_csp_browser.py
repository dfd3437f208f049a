"""The console and the public site run under the Content-Security-Policy with no violation, in a real Chromium.

Every page below is opened and used a little (Unfold's menus, htmx's dashboard refresh, Alpine); the test fails on any
`securitypolicyviolation` event and on any console message about the policy.
"""

from __future__ import annotations

import pytest
from django.db import connections
from django.urls import reverse

from cedula.models import CedulaInfo, Status
from cedula.registry.browser import CHROMIUM_ARGS
from tests.helpers.browser import chromium_path

PASSWORD = "clave-segura-123"

# Recorded in the page before any of its scripts run: a violation from the first byte on is seen.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber + ' ' +
  (e.sample || '')));
"""

PUBLIC_PAGES = ["accounts:login", "accounts:register"]
PERSON_PAGES = ["accounts:home", "accounts:profile", "accounts:account_delete"]
CONSOLE_PAGES = [
    "admin:index",
    "admin:cedula_cedulainfo_changelist",
    "admin:cedula_lookupattempt_changelist",
    "admin:cedula_importbatch_changelist",
    "admin:cedula_cedulachange_changelist",
    "admin:cedula_auditrecord_changelist",
    "admin:accounts_user_changelist",
    "admin:accounts_user_add",
    "admin:cedula_cedulainfo_import",
    "admin:django_q_schedule_changelist",
    "admin:django_q_failure_changelist",
    "two_factor_enrol",
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS), headless=True)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(20_000)
        context.add_init_script(WATCH)
        yield context
        chromium.close()
        connections.close_all()


def _watch(page, problems: list[str]) -> None:
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
            else None
        ),
    )


def _visit(page, url: str, problems: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, url
    assert response.headers.get("content-security-policy"), url
    page.wait_for_load_state("networkidle")
    problems.extend(f"{url}: {v}" for v in page.evaluate("window.__csp"))


@pytest.mark.integration
@pytest.mark.screens
@pytest.mark.django_db(transaction=True)
def test_the_public_site_and_the_console_run_under_the_policy_without_violations(
    live_server, browser, user_factory, cedula_factory
):
    person = user_factory(email="persona@example.com", cedula="1234567")
    CedulaInfo.objects.filter(user=person).update(status=Status.ACTIVE)
    boss = user_factory(email="jefa@example.com", is_staff=True, is_superuser=True)
    row = cedula_factory(status=Status.ERROR, error_kind="timeout")
    problems: list[str] = []

    public = browser.new_page()
    _watch(public, problems)
    for name in PUBLIC_PAGES:
        _visit(public, live_server.url + reverse(name), problems)
    _visit(public, live_server.url + "/no-existe/", problems)
    public.goto(live_server.url + reverse("accounts:login"))
    public.fill('input[name="username"]', person.email)
    public.fill('input[name="password"]', PASSWORD)
    public.click('[type="submit"]')
    public.wait_for_url(live_server.url + reverse("accounts:home"))
    for name in PERSON_PAGES:
        _visit(public, live_server.url + reverse(name), problems)

    console = browser.new_page()
    _watch(console, problems)
    _visit(console, live_server.url + reverse("admin:login"), problems)
    assert not problems, "\n".join(dict.fromkeys(problems))
    console.fill('input[name="username"]', boss.email)
    console.fill('input[name="password"]', PASSWORD)
    console.click('[type="submit"]')
    console.wait_for_url(live_server.url + reverse("admin:index"))
    for name in CONSOLE_PAGES:
        _visit(console, live_server.url + reverse(name), problems)
    _visit(console, live_server.url + reverse("admin:cedula_cedulainfo_change", args=[row.pk]), problems)
    _visit(console, live_server.url + reverse("admin:accounts_user_change", args=[person.pk]), problems)
    # htmx: the dashboard fragment swapped in, as its 30 s poll does; Alpine: the user menu and a dropdown filter.
    _visit(console, live_server.url + reverse("admin:index"), problems)
    fragment = reverse("admin:cedula_cedulainfo_dashboard")
    console.evaluate(f"htmx.ajax('GET', '{fragment}', {{target: '#cedula-dashboard', swap: 'innerHTML'}})")
    console.wait_for_timeout(1500)
    _visit(console, live_server.url + reverse("admin:cedula_cedulainfo_changelist"), problems)
    console.locator("input.action-select").first.check()
    console.locator("select[name=action]").first.select_option(index=1)
    console.wait_for_timeout(500)
    problems.extend(f"after use: {v}" for v in console.evaluate("window.__csp"))

    assert not problems, "\n".join(dict.fromkeys(problems))
