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
# A .env file is a convenience for development; real deployments set the environment.
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
    "unfold",
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
    "ops.accounts",
    "cedula",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.logging.RequestLogMiddleware",
]

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

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- Locale ---------------------------------------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="es-co")
LANGUAGES = [("es", "Español"), ("en", "English")]
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

# --- Logging (structlog, configured once) -----------------------------------------------------------------------
LOG_DIR = Path(env.str("LOG_DIR", default=str(BASE_DIR / "logs")))
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_MAX_BYTES = env.int("LOG_MAX_BYTES", default=10 * 1024 * 1024)
LOG_BACKUP_COUNT = env.int("LOG_BACKUP_COUNT", default=5)
LOGGING_CONFIG = None  # ops.logging owns the configuration

from ops.logging import configure_logging  # noqa: E402

configure_logging(
    log_dir=LOG_DIR,
    level=LOG_LEVEL,
    console_format=LOG_FORMAT,
    max_bytes=LOG_MAX_BYTES,
    backup_count=LOG_BACKUP_COUNT,
)

# --- The registry (target page) and the lookup pipeline ----------------------------------------------------------
REGISTRY_URL = env.str("REGISTRY_URL", default="http://127.0.0.1:8001/censo/consultar/")
REGISTRY_MIN_GAP_S = env.float("REGISTRY_MIN_GAP_S", default=5.0)
# Workers that reach the registry through the same public IP must share one throttle: give them the same id.
REGISTRY_EGRESS_ID = env.str("REGISTRY_EGRESS_ID", default="default")
if REGISTRY_MIN_GAP_S < 0:
    raise environ.ImproperlyConfigured("REGISTRY_MIN_GAP_S must be >= 0.")
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
if CAPTCHA_SOLVER not in {"none", "2captcha"}:
    raise environ.ImproperlyConfigured("CAPTCHA_SOLVER must be 'none' or '2captcha'.")
CAPTCHA_API_URL = env.str("CAPTCHA_API_URL", default="https://2captcha.com")
CAPTCHA_API_KEY = env.str("CAPTCHA_API_KEY", default="")
CAPTCHA_TIMEOUT_S = env.float("CAPTCHA_TIMEOUT_S", default=45.0)

# --- Public side ----------------------------------------------------------------------------------------------------
REFRESH_MAX_PER_HOUR = env.int("REFRESH_MAX_PER_HOUR", default=1)
REFRESH_MAX_PER_DAY = env.int("REFRESH_MAX_PER_DAY", default=5)
REGISTRATION_MAX_PER_IP_PER_HOUR = env.int("REGISTRATION_MAX_PER_IP_PER_HOUR", default=10)

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
    "label": "Django Q",
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
