"""The Content-Security-Policy header (an equivalent of django-csp's middleware: a setting, no dependency).

Every response gets CSP_POLICY (the console, under /admin/: CSP_POLICY_CONSOLE) unless it already carries one. The
public site has no inline script or style; the console (Unfold) needs what its templates use: see the settings'
comment in ops/settings.py and the browser test that fails on any violation (tests/security/test_csp_browser.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CSP_POLICY_CONSOLE if request.path.startswith("/admin/") else settings.CSP_POLICY
        if policy and HEADER not in response:
            response[HEADER] = policy
        return response
