"""Settings for the cedula operations console: one file, driven by the environment.

Every variable is listed in .env.example. A bad value fails loudly at start-up (django-environ raises).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Development is asked for per command: `./dev` (and make) sets OPS_DEV=1, and only then is var/dev.env read (DEBUG=1,
# a generated SECRET_KEY). A production process never sets OPS_DEV, so no file make wrote can put it in DEBUG; the
# real environment wins over both files. README.md: "How development and production are kept apart".
if os.environ.get("OPS_DEV") == "1":
    from ops.devenv import ensure_dev_env

    environ.Env.read_env(ensure_dev_env(Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")))
# A .env file holds local overrides (copied from .env.example); real deployments set the environment.
if (BASE_DIR / ".env").exists() and not os.environ.get("OPS_IGNORE_DOTENV"):
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
_INSECURE_DEV_KEY = "django-insecure-dev-only-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_DEV_KEY if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "ops.admin_site.ConsoleAdminConfig",  # Unfold, with the console's site (its search finds cedulas)
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "import_export",
    "django_q",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ops.accounts",
    "cedula",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ops.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ops.accounts.middleware.AuditRequestMiddleware",
    "ops.accounts.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Refuses a body over UPLOAD_MAX_BODY_MB before CSRF's process_view reads it (ops/uploads.py).
    "ops.uploads.UploadBodyLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.logging.RequestLogMiddleware",
    # A malformed id or filter value is a 400 in Spanish, not a 500 (ops/bad_input.py).
    "ops.bad_input.BadInputMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the Spanish lockout page.
    "axes.middleware.AxesMiddleware",
]

# Uploads (ops/uploads.py): no body over UPLOAD_MAX_BODY_MB is read (the import's file cap is 64 MB); form fields are
# capped in memory, and a file part over FILE_UPLOAD_MAX_MEMORY_SIZE goes to disk in chunks.
UPLOAD_MAX_BODY_MB = env.int("UPLOAD_MAX_BODY_MB", default=65)
DATA_UPLOAD_MAX_MEMORY_SIZE = FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "ops.uploads.BodyLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Import previews never confirmed are removed after this many hours (cedula.tasks.import_previews_expire).
IMPORT_PREVIEW_MAX_AGE_H = env.float("IMPORT_PREVIEW_MAX_AGE_H", default=24.0)

ROOT_URLCONF = "ops.urls"
WSGI_APPLICATION = "ops.wsgi.application"
ASGI_APPLICATION = "ops.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ops.accounts.context_processors.public_contacts",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
# SQLite by default. WAL lets the web process read while the worker writes; IMMEDIATE transactions take the write
# lock up front so two writers queue on busy_timeout instead of failing with "database is locked" on upgrade.
# How long a SQLite writer waits for another one's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_S = env.float("SQLITE_BUSY_TIMEOUT_S", default=30.0)
SQLITE_OPTIONS = {
    "init_command": ";".join(
        [
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}",
            "PRAGMA foreign_keys=ON",
        ]
    )
    + ";",
    "transaction_mode": "IMMEDIATE",
    "timeout": SQLITE_BUSY_TIMEOUT_S,
}

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ops.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    # The test database is a real file so the worker, the web server and the tests share it.
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("TEST_DATABASE_NAME", default=str(VAR_DIR / "test.sqlite3")),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if os.environ.get("TEST_DATABASE_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- Locale ---------------------------------------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="es-co")
# Spanish only: the console and the public site have no English text, so a browser asking for English must not get
# half-translated pages (LocaleMiddleware would pick "en" from Accept-Language).
LANGUAGES = [("es", "Español")]
# Spanish for Unfold and Django-Q2, which ship none (compiled by `python -m ops.compile_messages`, no gettext needed).
LOCALE_PATHS = [BASE_DIR / "locale"]
# One short date-time format for staff, in TIME_ZONE, with seconds: 01/12/2026 16:49:02.
FORMAT_MODULE_PATH = ["ops.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Bogota")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
# Production serves hashed, compressed files collected by `collectstatic`; development and tests read the apps' own.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# --- Security (production values unless DEBUG) -----------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- Staff accounts: lockout, second factor, sessions, audit (docs/security.md) ------------------------------------
from ops.settings_staff import *  # noqa: E402, F403

RETENTION_ATTEMPTS_DAYS = env.int("RETENTION_ATTEMPTS_DAYS", default=365)
RETENTION_SNAPSHOTS_DAYS = env.int("RETENTION_SNAPSHOTS_DAYS", default=30)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
# The dashboard reads 48 h of attempts: a shorter retention would empty its charts.
if RETENTION_ATTEMPTS_DAYS < 3 or RETENTION_SNAPSHOTS_DAYS < 3 or RETENTION_BATCH_SIZE < 1:
    raise environ.ImproperlyConfigured("RETENTION_*_DAYS must be >= 3 and RETENTION_BATCH_SIZE >= 1.")

# --- Logging (structlog, configured once) -----------------------------------------------------------------------
from ops.logging import configure_logging, resolve_log_dir  # noqa: E402

# Resolved against the project, not the working directory: a relative or empty value once wrote ops.jsonl and its lock
# into whatever directory a command ran from (the repository root among them). An empty value is refused.
LOG_DIR = resolve_log_dir(env.str("LOG_DIR", default="logs"), base_dir=BASE_DIR)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_MAX_BYTES = env.int("LOG_MAX_BYTES", default=10 * 1024 * 1024)
LOG_BACKUP_COUNT = env.int("LOG_BACKUP_COUNT", default=5)
LOGGING_CONFIG = None  # ops.logging owns the configuration

configure_logging(
    log_dir=LOG_DIR,
    level=LOG_LEVEL,
    console_format=LOG_FORMAT,
    max_bytes=LOG_MAX_BYTES,
    backup_count=LOG_BACKUP_COUNT,
)

# --- The registry (target page) and the lookup pipeline ----------------------------------------------------------
REGISTRY_URL = env.str("REGISTRY_URL", default="http://127.0.0.1:8001/censo/consultar/")
from ops.settings_sources import *  # noqa: E402, F403 - the registry's sources (docs/registry.md, "Sources")

REGISTRY_MIN_GAP_S = env.float("REGISTRY_MIN_GAP_S", default=5.0)
if REGISTRY_MIN_GAP_S < 0:
    raise environ.ImproperlyConfigured("REGISTRY_MIN_GAP_S must be >= 0 (one gap for every source together).")
# A promise to the registry below what the gap allows: at most this many lookups a (Bogota) day, none in the quiet
# hours ("22-06"). Interactive lookups (people registering) are exempt from both. See docs/batches.md.
REGISTRY_MAX_PER_DAY = env.int("REGISTRY_MAX_PER_DAY", default=0)
if REGISTRY_MAX_PER_DAY < 0:
    raise environ.ImproperlyConfigured("REGISTRY_MAX_PER_DAY must be >= 0 (0 = no cap).")
REGISTRY_QUIET_HOURS = env.str("REGISTRY_QUIET_HOURS", default="")
try:
    from cedula.budget import parse_quiet_hours as _parse_quiet_hours

    _parse_quiet_hours(REGISTRY_QUIET_HOURS)
except ValueError as _exc:
    raise environ.ImproperlyConfigured(str(_exc)) from None
REGISTRY_NAV_TIMEOUT_S = env.float("REGISTRY_NAV_TIMEOUT_S", default=20.0)
REGISTRY_FORM_TIMEOUT_S = env.float("REGISTRY_FORM_TIMEOUT_S", default=10.0)
REGISTRY_ANSWER_TIMEOUT_S = env.float("REGISTRY_ANSWER_TIMEOUT_S", default=20.0)
# The whole attempt (page, form, captcha, answer) ends within this budget, well inside the 120 s task timeout.
REGISTRY_LOOKUP_BUDGET_S = env.float("REGISTRY_LOOKUP_BUDGET_S", default=90.0)
REGISTRY_BREAKER_THRESHOLD = env.int("REGISTRY_BREAKER_THRESHOLD", default=5)
REGISTRY_BREAKER_COOLDOWN_S = env.float("REGISTRY_BREAKER_COOLDOWN_S", default=300.0)
REGISTRY_BREAKER_MAX_COOLDOWN_S = env.float("REGISTRY_BREAKER_MAX_COOLDOWN_S", default=3600.0)
LOOKUP_RETRY_DELAYS_S = [float(x) for x in env.list("LOOKUP_RETRY_DELAYS_S", default=["30", "60", "120"])]
LOOKUP_DISPATCH_DEPTH = env.int("LOOKUP_DISPATCH_DEPTH", default=2)
LOOKUP_SNAPSHOTS_KEPT = env.int("LOOKUP_SNAPSHOTS_KEPT", default=200)
LOOKUP_SNAPSHOT_MAX_BYTES = env.int("LOOKUP_SNAPSHOT_MAX_BYTES", default=20_000)
PLAYWRIGHT_CHROMIUM_EXECUTABLE = env.str("PLAYWRIGHT_CHROMIUM_EXECUTABLE", default="")
BROWSER_RESTART_AFTER = env.int("BROWSER_RESTART_AFTER", default=200)
BROWSER_HEADLESS = env.bool("BROWSER_HEADLESS", default=True)
CAPTCHA_SOLVER = env.str("CAPTCHA_SOLVER", default="none")
if CAPTCHA_SOLVER not in {"none", "2captcha", "anticaptcha", "capmonster", "capsolver"}:
    raise environ.ImproperlyConfigured(
        "CAPTCHA_SOLVER must be one of none, 2captcha, anticaptcha, capmonster, capsolver."
    )
# Empty: the service's own address (cedula.registry.captcha.DEFAULT_API_URLS).
CAPTCHA_API_URL = env.str("CAPTCHA_API_URL", default="")
CAPTCHA_API_KEY = env.str("CAPTCHA_API_KEY", default="")
CAPTCHA_TIMEOUT_S = env.float("CAPTCHA_TIMEOUT_S", default=45.0)
# Solving ahead (docs/registry.md, "Solving ahead"): off = one solve on each lookup's path.
CAPTCHA_AHEAD = env.bool("CAPTCHA_AHEAD", default=True)
CAPTCHA_AHEAD_MAX = env.int("CAPTCHA_AHEAD_MAX", default=8)
# A token older than this is never sent; Google's limit is 120 s, the margin covers the POST and the clocks.
CAPTCHA_SAFE_AGE_S = env.float("CAPTCHA_SAFE_AGE_S", default=100.0)
if not 0 < CAPTCHA_SAFE_AGE_S < 120:
    raise environ.ImproperlyConfigured("CAPTCHA_SAFE_AGE_S must be between 0 and 120 (a token lives 2 minutes).")
# The solver's manners, as the services document them (2captcha: first poll after 15-20 s, then >= 5 s apart).
CAPTCHA_FIRST_POLL_S = env.float("CAPTCHA_FIRST_POLL_S", default=15.0)
CAPTCHA_POLL_S = env.float("CAPTCHA_POLL_S", default=5.0)
CAPTCHA_NO_SLOT_WAIT_S = env.float("CAPTCHA_NO_SLOT_WAIT_S", default=5.0)
CAPTCHA_ZERO_BALANCE_WAIT_S = env.float("CAPTCHA_ZERO_BALANCE_WAIT_S", default=60.0)
# Pages opened ahead of their lookup, at most (never more than the lookups that are due).
REGISTRY_PAGES_AHEAD = env.int("REGISTRY_PAGES_AHEAD", default=2)

# --- Public side ----------------------------------------------------------------------------------------------------
REFRESH_MAX_PER_HOUR = env.int("REFRESH_MAX_PER_HOUR", default=1)
REFRESH_MAX_PER_DAY = env.int("REFRESH_MAX_PER_DAY", default=5)
REGISTRATION_MAX_PER_IP_PER_HOUR = env.int("REGISTRATION_MAX_PER_IP_PER_HOUR", default=10)
# Named on the public pages: where a person writes to fix their cedula, and where to ask about a cancelled one.
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="soporte@example.org")
REGISTRADURIA_HELP_URL = env.str("REGISTRADURIA_HELP_URL", default="https://www.registraduria.gov.co/")

# --- Freshness: scheduled re-validation (docs/revalidation.md) -----------------------------------------------------
# Rows whose last final answer is older than this many days are looked up again; 0 turns the scheduled job off.
REVALIDATE_AFTER_DAYS = env.int("REVALIDATE_AFTER_DAYS", default=90)
# At most this many rows re-queued per day (Bogota calendar day) by the scheduled job.
REVALIDATE_MAX_PER_DAY = env.int("REVALIDATE_MAX_PER_DAY", default=2000)
if REVALIDATE_AFTER_DAYS < 0 or REVALIDATE_MAX_PER_DAY < 0:
    raise environ.ImproperlyConfigured("REVALIDATE_AFTER_DAYS and REVALIDATE_MAX_PER_DAY must be >= 0.")

# --- Alerts and health ---------------------------------------------------------------------------------------------
ERROR_RATE_WINDOW_MIN = env.int("ERROR_RATE_WINDOW_MIN", default=15)
ERROR_RATE_THRESHOLD = env.float("ERROR_RATE_THRESHOLD", default=0.30)
ERROR_RATE_MIN_ATTEMPTS = env.int("ERROR_RATE_MIN_ATTEMPTS", default=10)
ERROR_RATE_ALERT_COOLDOWN_MIN = env.int("ERROR_RATE_ALERT_COOLDOWN_MIN", default=60)
WORKER_SILENT_AFTER_S = env.int("WORKER_SILENT_AFTER_S", default=180)
# The stall alert: rows due, lookups neither paused nor broken, and no lookup started for this long.
STALL_AFTER_MIN = env.int("STALL_AFTER_MIN", default=10)
STALL_ALERT_COOLDOWN_MIN = env.int("STALL_ALERT_COOLDOWN_MIN", default=60)
# The page-changed alert: the share of `unexpected_page` answers over the error-rate window.
PAGE_CHANGED_THRESHOLD = env.float("PAGE_CHANGED_THRESHOLD", default=0.5)
PAGE_CHANGED_MIN_ATTEMPTS = env.int("PAGE_CHANGED_MIN_ATTEMPTS", default=5)
PAGE_CHANGED_ALERT_COOLDOWN_MIN = env.int("PAGE_CHANGED_ALERT_COOLDOWN_MIN", default=60)
# A cedula whose answer is known, looked up on a schedule: `active`, `active:MUNICIPIO`, `cancelled`, `not_found`.
REGISTRY_CANARY_CEDULA = env.str("REGISTRY_CANARY_CEDULA", default="")
REGISTRY_CANARY_EXPECT = env.str("REGISTRY_CANARY_EXPECT", default="active")
REGISTRY_CANARY_EVERY_MIN = env.int("REGISTRY_CANARY_EVERY_MIN", default=60)
if REGISTRY_CANARY_EXPECT.partition(":")[0] not in {"active", "cancelled", "not_found"}:
    raise environ.ImproperlyConfigured("REGISTRY_CANARY_EXPECT must be active[:MUNICIPIO], cancelled or not_found.")
# Where staff open the console, for links in alert events (e.g. https://consola.example.com); empty: relative links.
CONSOLE_BASE_URL = env.str("CONSOLE_BASE_URL", default="")
# /metrics answers only `Authorization: Bearer <token>`; empty: /metrics is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Captcha spend (docs/observability.md) ---------------------------------------------------------------------------
# What the solver charges per 1,000 reCAPTCHA v2 solves (2captcha: about USD 2.99): every cost shown comes from it.
CAPTCHA_PRICE_PER_1000_USD = env.float("CAPTCHA_PRICE_PER_1000_USD", default=2.99)
# On-call hears when the balance lasts fewer days than this at today's spend rate (0 turns the alert off).
CAPTCHA_RUNWAY_ALERT_DAYS = env.float("CAPTCHA_RUNWAY_ALERT_DAYS", default=3.0)
if CAPTCHA_PRICE_PER_1000_USD < 0 or CAPTCHA_RUNWAY_ALERT_DAYS < 0:
    raise environ.ImproperlyConfigured("CAPTCHA_PRICE_PER_1000_USD and CAPTCHA_RUNWAY_ALERT_DAYS must be >= 0.")

# --- Django-Q2 --------------------------------------------------------------------------------------------------------
# timeout < retry: a running task is never handed out a second time. The backlog lives in our tables, not here.
Q_REDIS_URL = env.str("Q_REDIS_URL", default="")
Q_CLUSTER = {
    "name": "cedula-validation",
    "workers": env.int("Q_WORKERS", default=1),
    "recycle": 500,
    "timeout": 120,
    "retry": 180,
    "max_attempts": 3,
    "queue_limit": 10,
    "bulk": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 5000,
    "poll": 0.2,
    "label": "Trabajador (Django-Q2)",
}
if Q_REDIS_URL:
    Q_CLUSTER["redis"] = Q_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Cache ------------------------------------------------------------------------------------------------------------
# Shared by every process: Django-Q2 keeps the cluster heartbeat here and the public side counts refreshes here.
if Q_REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": Q_REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("CACHE_DIR", default=str(VAR_DIR / "cache")),
        }
    }

# --- Exports ----------------------------------------------------------------------------------------------------------
# CSV downloads' separator: ";" is what Excel in es-CO expects, the comma being its decimal mark (admin/exports.py).
EXPORT_CSV_DELIMITER = env.str("EXPORT_CSV_DELIMITER", default=";")

# --- Sentry -----------------------------------------------------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
HOSTNAME = socket.gethostname()
if SENTRY_DSN:
    from ops.sentry import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=SENTRY_RELEASE or None)

# --- Unfold -----------------------------------------------------------------------------------------------------------
from ops.unfold import UNFOLD  # noqa: E402,F401
