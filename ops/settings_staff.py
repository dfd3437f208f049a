"""Staff accounts: lockout, second factor, sessions, the Content-Security-Policy (docs/security.md).

Not a settings module of its own: ops/settings.py, the one entry point, star-imports it after the environment files
are read, so the values below see the same environment. Private names (leading underscore) stay here.
"""

from __future__ import annotations

import datetime as dt

import environ

_env = environ.Env()
_DEBUG = _env.bool("DEBUG", default=False)  # the same reading as ops/settings.py's DEBUG

LOGIN_MAX_FAILURES = _env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_MIN = _env.int("LOGIN_LOCKOUT_MIN", default=15)
if LOGIN_MAX_FAILURES < 1 or LOGIN_LOCKOUT_MIN < 1:
    raise environ.ImproperlyConfigured("LOGIN_MAX_FAILURES and LOGIN_LOCKOUT_MIN must be >= 1.")
# The client address comes from REMOTE_ADDR unless the deployment says a reverse proxy sets a header we may trust.
TRUST_PROXY_IP_HEADER = _env.bool("TRUST_PROXY_IP_HEADER", default=False)
PROXY_IP_HEADER = _env.str("PROXY_IP_HEADER", default="X-Forwarded-For")
# How many proxies of ours append to that header: the client is that many entries from the right.
PROXY_COUNT = _env.int("PROXY_COUNT", default=1)
if PROXY_COUNT < 1:
    raise environ.ImproperlyConfigured("PROXY_COUNT must be >= 1.")
# Content-Security-Policy on every response (ops/csp.py); empty switches it off. The public site has no inline
# script or style. The console (Unfold) evaluates Alpine.js expressions written in its HTML (Alpine's standard build
# needs 'unsafe-eval') and sets inline styles: only /admin/ gets those two allowances; no inline <script> anywhere.
_CSP_COMMON = (
    "default-src 'self'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CSP_POLICY = _env.str("CSP_POLICY", default=f"{_CSP_COMMON}; script-src 'self'; style-src 'self'")
CSP_POLICY_CONSOLE = _env.str(
    "CSP_POLICY_CONSOLE", default=f"{_CSP_COMMON}; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'"
)
STAFF_2FA_REQUIRED = _env.bool("STAFF_2FA_REQUIRED", default=not _DEBUG)
STAFF_SESSION_HOURS = _env.float("STAFF_SESSION_HOURS", default=8.0)
# A staff account enrols its first authenticator with the password alone only this long after it was created or its
# second factor was reset; later it needs a one-time enrolment code from a superuser (it also lives this long).
STAFF_2FA_ENROL_WINDOW_H = _env.float("STAFF_2FA_ENROL_WINDOW_H", default=24.0)
if STAFF_2FA_ENROL_WINDOW_H < 0:
    raise environ.ImproperlyConfigured("STAFF_2FA_ENROL_WINDOW_H must be >= 0.")

AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = dt.timedelta(minutes=LOGIN_LOCKOUT_MIN)
# Each on its own: an account is locked whatever address guesses it, an address whatever accounts it tries.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lock lifts LOGIN_LOCKOUT_MIN after it began
AXES_CLIENT_IP_CALLABLE = "ops.net.client_ip"
AXES_LOCKOUT_CALLABLE = "ops.accounts.security.lockout_response"
AXES_USERNAME_CALLABLE = "ops.accounts.security.login_username"
AXES_ENABLE_ADMIN = False  # ops.accounts.admin_security shows the locks in the console's look
AXES_DISABLE_ACCESS_LOG = True  # successful logins are in the audit trail; no second copy of who came from where
AXES_VERBOSE = False

OTP_TOTP_ISSUER = "Consola de cédulas"
OTP_TOTP_THROTTLE_FACTOR = 1  # each wrong code doubles the wait before the next one is checked
