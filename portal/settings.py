"""Portal settings: one module, read from the environment (see docs/deploy.md for the full list).

``PORTAL_ENV`` picks the defaults:

* ``dev`` (default, what ``make run`` uses): SQLite, the sandbox HDP emulator and sandbox OAuth
  provider mounted in this process, fixed development keys. Never expose it.
* ``prod``: nothing is defaulted that matters; missing keys stop the process at start-up.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from portal.lib.env import env_bool, env_int, env_list, env_required, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

PORTAL_ENV = env_str("PORTAL_ENV", "dev") or "dev"
if PORTAL_ENV not in {"dev", "prod"}:
    raise ImproperlyConfigured(f"PORTAL_ENV must be 'dev' or 'prod'; got {PORTAL_ENV!r}.")
IS_PROD = PORTAL_ENV == "prod"

PORT = env_int("PORT", 8000)

DEBUG = env_bool("DEBUG", default=False)
if IS_PROD and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when PORTAL_ENV=prod.")

if IS_PROD:
    SECRET_KEY = env_required("SECRET_KEY")
else:
    # Development only: a fixed key so sessions survive restarts of `make run`.
    SECRET_KEY = (
        env_secret("SECRET_KEY") or "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"
    )

# The public base URL of the portal. The OAuth redirect URI is built from this, never from the
# request's Host header (SECURITY.md item 4).
PORTAL_BASE_URL = (env_str("PORTAL_BASE_URL") or ("" if IS_PROD else f"http://127.0.0.1:{PORT}")).rstrip("/")
if IS_PROD and not PORTAL_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured("PORTAL_BASE_URL must be set to the portal's https:// address in production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if IS_PROD else ["127.0.0.1", "localhost", "testserver"])
if IS_PROD and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the portal's host name(s) in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PORTAL_BASE_URL] if PORTAL_BASE_URL else [])

# Sandbox: an HDP emulator and an OAuth provider served by this process, for demos and tests.
SANDBOX_ENABLED = env_bool("PORTAL_SANDBOX", default=not IS_PROD)
# Fault injection on the emulator (control endpoint); only ever with the sandbox.
SANDBOX_FAULTS_ENABLED = SANDBOX_ENABLED and env_bool("PORTAL_SANDBOX_FAULTS", default=not IS_PROD)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "portal.accounts",
    "portal.audit",
    "portal.ratelimit",
    "portal.oauth",
    "portal.onboarding",
    "portal.connections",
    "portal.support",
    "portal.ops",
    "portal.api",
    "portal.sandbox.hdp",
    "portal.sandbox.provider",
    "oauth2_provider",
    "django_tasks",
    "django_tasks_db",
    # Only for its templates and Swagger UI's static files (the API docs page: no CDN).
    "ninja",
]

MIDDLEWARE = [
    # /healthz, /readyz, /metrics before host checks, HTTPS redirect and sessions (portal/ops/views.py).
    "portal.ops.middleware.OpsEndpointsMiddleware",
    "portal.ops.middleware.RequestMetricsMiddleware",
    # Request id, person and tenant ids for the log lines (PORTAL_LOG_FORMAT=json).
    "portal.lib.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Compresses HTML before anything else sees the body (BREACH: SECURITY.md item 26).
    "django.middleware.gzip.GZipMiddleware",
    # /api/v1/: any error answer not already problem+json (405, 404 of unknown paths) becomes one.
    "portal.api.middleware.ApiProblemMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "portal.lib.middleware.SessionIdleRefreshMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.accounts.recheck.HdpRecheckMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.lib.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
                "portal.lib.context.portal",
            ],
            # {% field_row %} of templates/partials/field.html (portal/lib is not an app), and
            # {% load i18n %}: Django's library with a quoted {% translate %} rendered directly (portal/lib/i18n.py).
            "libraries": {"portal_fields": "portal.lib.fields", "i18n": "portal.lib.i18n"},
        },
    }
]

# templates.W003 ("'i18n' is used for multiple template tag modules") is the override above, on purpose.
# tests/lib/test_i18n.py holds that i18n is the only library name registered twice, so no other
# duplicate can hide behind this.
SILENCED_SYSTEM_CHECKS = ["templates.W003"]

# Django's widget markup, with the single-element widgets written in Python rather than through the
# widget templates (portal/lib/widgets.py: the same bytes, a fraction of the CPU).
FORM_RENDERER = "portal.lib.widgets.PortalFormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # Persistent connections in production (a new PostgreSQL connection costs several ms per
        # request); health checks drop a connection the server closed. Each gunicorn thread may hold one.
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60 if IS_PROD else 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The sandbox emulator answers inside the same process as the portal: wait for locks, and
    # take the write lock at BEGIN so two threads never deadlock upgrading read locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            # Readers never wait for the writer (the portal, the emulator and db_worker share the file).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
    # Tests: a file per test process, as `make run` has, not Django's shared-cache in-memory database,
    # whose table locks fail at once ("database table is locked") when the live server's threads (the
    # portal and the emulator it calls over HTTP) write at the same time; a file waits for the lock.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"hdp-portal-test-{os.getpid()}.sqlite3")
    }
if IS_PROD and DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    raise ImproperlyConfigured("Set DATABASE_URL to a PostgreSQL database in production.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django's cache is a table in the same database (never process memory: several instances share it).
# It holds only HDP's data-store catalogue (portal/onboarding/catalogue.py); the table is created by
# the migration portal/onboarding/migrations/0007_cache_table.py, so `migrate` is the only setup step.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "portal_cache",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["portal.accounts.backends.HdpBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "onboarding:runs"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions live in the database (several instances share them); they hold references only,
# never a secret (SECURITY.md item 16). Idle expiry: a request pushes the expiry forward, but the
# session row is rewritten at most once per SESSION_REFRESH_SECONDS (portal.lib.middleware.
# SessionIdleRefreshMiddleware), not on every request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: Strict drops the session on the provider's redirect back (SECURITY.md item 25).
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if IS_PROD:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preload-list submission is a per-domain decision that is slow to undo; HSTS itself
        # (1 year, subdomains) is on. Opt in with SECURE_HSTS_PRELOAD=1.
        SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
    # Only when the reverse proxy overwrites X-Forwarded-Proto (docs/deploy.md).
    if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        # The OAuth start is a GET-after-POST redirect, so form-action can stay 'self'.
        "form-action": [SELF],
    },
}

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Development and tests serve static files straight from static/ (no collectstatic step);
# production serves the collected, compressed copies from STATIC_ROOT.
WHITENOISE_USE_FINDERS = not IS_PROD
WHITENOISE_AUTOREFRESH = not IS_PROD
# Production: collectstatic writes gzip/brotli copies and content-hashed names, which WhiteNoise serves
# with a one-year immutable cache. Development and tests keep the plain storage (no collectstatic, no
# manifest to rebuild).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("PORTAL_HASHED_STATIC", default=IS_PROD)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- HDP -------------------------------------------------------------------------------------------
HDP_BASE_URL = (
    env_str("HDP_BASE_URL") or ("" if IS_PROD else f"http://127.0.0.1:{PORT}/sandbox/hdp")
).rstrip("/")
HDP_SERVICE_USER = env_str("HDP_SERVICE_USER") or ("" if IS_PROD else "portal_svc")
HDP_SERVICE_PASSWORD = env_secret("HDP_SERVICE_PASSWORD") or ("" if IS_PROD else "portal-svc-sandbox-pw")
if IS_PROD and not (HDP_BASE_URL and HDP_SERVICE_USER and HDP_SERVICE_PASSWORD):
    raise ImproperlyConfigured(
        "HDP_BASE_URL, HDP_SERVICE_USER and HDP_SERVICE_PASSWORD must be set in production."
    )
# A PEM bundle for an HDP server behind a private CA; empty means the system trust store.
HDP_CA_BUNDLE = env_str("HDP_CA_BUNDLE", "") or ""
# Tests only: dotted path to a zero-arg callable returning an httpx transport (e.g. the in-process
# emulator, "portal.sandbox.hdp.emulator.mock_transport"). Never read from the environment.
HDP_TRANSPORT_FACTORY: str | None = None
HDP_CONNECT_TIMEOUT = float(env_int("HDP_CONNECT_TIMEOUT_MS", 3000)) / 1000
HDP_READ_TIMEOUT = float(env_int("HDP_READ_TIMEOUT_MS", 15000)) / 1000

# --- Connection checks (portal/connections) --------------------------------------------------------
# A check still unfinished after this many seconds was abandoned (its worker died) and is replaced.
CONNECTION_CHECK_TIMEOUT = env_int("CONNECTION_CHECK_TIMEOUT_SECONDS", 300)
# A "Working" older than this is shown as "Not checked since ..." (two missed daily checks).
CONNECTION_STALE_AFTER = env_int("CONNECTION_STALE_AFTER_SECONDS", 48 * 3600)

# --- Background tasks and health checks (portal/connections, docs/deploy.md "Health checks") --------
# Tasks are rows in the portal's own database (django-tasks' database backend); `manage.py db_worker`
# runs them, any number of workers on any number of machines sharing the one database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# How often each completed setup is checked, and the random spread added so checks do not bunch up.
HEALTH_CHECK_INTERVAL = env_int("HEALTH_CHECK_INTERVAL_SECONDS", 24 * 3600)
HEALTH_CHECK_JITTER = env_int("HEALTH_CHECK_JITTER_SECONDS", 3600)
# A claimed setup whose task never reported back (worker killed, queue lost) is due again after this.
HEALTH_CHECK_LEASE = env_int("HEALTH_CHECK_LEASE_SECONDS", 3600)
# At most this many checks run against the HDP server at once; over it a task waits this long.
HEALTH_CHECK_CONCURRENCY = env_int("HEALTH_CHECK_CONCURRENCY", 8)
HEALTH_CHECK_CAP_DELAY = env_int("HEALTH_CHECK_CAP_DELAY_SECONDS", 15)
# HDP down (5xx, timeouts): wait base * 2^(n-1) seconds after the n-th failure, at most max.
HEALTH_HDP_BACKOFF_BASE = env_int("HEALTH_HDP_BACKOFF_BASE_SECONDS", 60)
HEALTH_HDP_BACKOFF_MAX = env_int("HEALTH_HDP_BACKOFF_MAX_SECONDS", 3600)
# Optional webhook told of every change of status, in the Standard Webhooks format (docs/deploy.md).
HEALTH_WEBHOOK_URL = env_str("HEALTH_WEBHOOK_URL", "") or ""
HEALTH_WEBHOOK_SECRET = env_secret("HEALTH_WEBHOOK_SECRET") or ""
HEALTH_WEBHOOK_TIMEOUT = float(env_int("HEALTH_WEBHOOK_TIMEOUT_MS", 5000)) / 1000
HEALTH_WEBHOOK_MAX_ATTEMPTS = env_int("HEALTH_WEBHOOK_MAX_ATTEMPTS", 5)
HEALTH_WEBHOOK_RETRY_BASE = env_int("HEALTH_WEBHOOK_RETRY_BASE_SECONDS", 30)
# Loopback webhooks follow OAUTH_ALLOW_LOOPBACK; this also allows plain http and private addresses (dev only).
HEALTH_WEBHOOK_ALLOW_PRIVATE = env_bool("HEALTH_WEBHOOK_ALLOW_PRIVATE", default=False)
if IS_PROD and HEALTH_WEBHOOK_ALLOW_PRIVATE:
    raise ImproperlyConfigured("HEALTH_WEBHOOK_ALLOW_PRIVATE must be off in production.")
if HEALTH_WEBHOOK_URL and not HEALTH_WEBHOOK_SECRET:
    raise ImproperlyConfigured("HEALTH_WEBHOOK_SECRET must be set when HEALTH_WEBHOOK_URL is.")
HEALTH_EMAIL_FROM = env_str("HEALTH_EMAIL_FROM", "") or ""
# Warn a setup's owner (e-mail) and the webhook (event connection.expiring) this many seconds before
# its sign-in's expected end, once each (portal/connections/expiry.py, run by the health scheduler
# round). Default 14, 3 and 1 days; comma-separated seconds.
FORESIGHT_WARN_BEFORE = sorted(
    {int(v) for v in env_list("FORESIGHT_WARN_BEFORE_SECONDS", ["1209600", "259200", "86400"]) if int(v) > 0},
    reverse=True,
)

# --- OAuth -----------------------------------------------------------------------------------------
OAUTH_FLOW_TTL_SECONDS = env_int("OAUTH_FLOW_TTL_SECONDS", 600)
OAUTH_TOKEN_TIMEOUT = float(env_int("OAUTH_TOKEN_TIMEOUT_MS", 10000)) / 1000
# Extra provider host names (beyond the presets' allowlists) that admins may use in custom URIs.
OAUTH_ALLOWED_CUSTOM_HOSTS = env_list("OAUTH_ALLOWED_CUSTOM_HOSTS", [])
# http:// and loopback addresses for provider URIs: sandbox and tests only.
OAUTH_ALLOW_LOOPBACK = env_bool("OAUTH_ALLOW_LOOPBACK", default=not IS_PROD)
if IS_PROD and OAUTH_ALLOW_LOOPBACK:
    raise ImproperlyConfigured("OAUTH_ALLOW_LOOPBACK must be off in production.")
if OAUTH_ALLOW_LOOPBACK:
    import os

    # requests-oauthlib refuses http:// otherwise; loopback sandbox/tests only, never production.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

# --- Secrets at rest -------------------------------------------------------------------------------
# "kid:base64url(32 bytes)" entries, comma-separated; the first encrypts, all decrypt (rotation).
# Separate from SECRET_KEY on purpose (SECURITY.md item 15).
if IS_PROD:
    PORTAL_ENCRYPTION_KEYS = [
        k.strip() for k in (env_secret("PORTAL_ENCRYPTION_KEYS") or "").split(",") if k.strip()
    ]
    if not PORTAL_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("PORTAL_ENCRYPTION_KEYS must be set in production (see docs/deploy.md).")
else:
    PORTAL_ENCRYPTION_KEYS = env_list(
        "PORTAL_ENCRYPTION_KEYS", ["dev1:ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM"]
    )

# Abandoned runs lose their encrypted secrets after this long (manage.py purge_abandoned).
PORTAL_ABANDONED_AFTER_HOURS = env_int("PORTAL_ABANDONED_AFTER_HOURS", 72)

# The support chain reads this many of a tenant's data sources in detail per page (?page=N).
SUPPORT_CHAIN_PAGE_SIZE = env_int("SUPPORT_CHAIN_PAGE_SIZE", 50)

# scripts/bench.py's bare signed-in view at /bench/bare/ (portal/lib/bench.py); off: the URL does not exist.
PORTAL_BENCH_VIEWS = env_bool("PORTAL_BENCH_VIEWS", default=False)

# --- Rate limits (per person, per minute) ------------------------------------------------------------
RATELIMIT_OAUTH_START_PER_MINUTE = env_int("RATELIMIT_OAUTH_START_PER_MINUTE", 10)
# Handoff link pages per client address and minute (guessing links gets 429; issue 19).
RATELIMIT_HANDOFF_PER_MINUTE = env_int("RATELIMIT_HANDOFF_PER_MINUTE", 30)
RATELIMIT_TEST_PER_MINUTE = env_int("RATELIMIT_TEST_PER_MINUTE", 10)

# --- Automation API (portal/api, docs/api.md) -------------------------------------------------------
# Requests per token per minute (database counters); over it: 429 with Retry-After. 0 switches it off.
API_RATELIMIT_PER_MINUTE = env_int("API_RATELIMIT_PER_MINUTE", 120)
# The key of the tokens' HMAC-SHA256; empty: derived from SECRET_KEY. Changing it invalidates every token.
API_TOKEN_HASH_KEY = env_secret("API_TOKEN_HASH_KEY") or ""

# --- Sign-in throttle (SECURITY.md item 34; docs/deploy.md) -----------------------------------------
# Failed sign-ins within the window: from this many on, sign-in is paused (0 switches a counter off)
# for BASE seconds, doubling with each further failure, at most MAX seconds. Refused before HDP is asked.
LOGIN_THROTTLE_PER_USER = env_int("LOGIN_THROTTLE_PER_USER", 5)
LOGIN_THROTTLE_PER_CLIENT = env_int("LOGIN_THROTTLE_PER_CLIENT", 20)
LOGIN_THROTTLE_GLOBAL = env_int("LOGIN_THROTTLE_GLOBAL", 500)
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60)
LOGIN_THROTTLE_BASE_SECONDS = env_int("LOGIN_THROTTLE_BASE_SECONDS", 60)
LOGIN_THROTTLE_MAX_SECONDS = env_int("LOGIN_THROTTLE_MAX_SECONDS", 60 * 60)
# How many reverse proxies in front of the portal append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)
# Each session re-checks its person against HDP (service account) at most this often (SECURITY.md item 35).
HDP_RECHECK_SECONDS = env_int("HDP_RECHECK_SECONDS", 5 * 60)
# Step a keeps HDP's data-store list and option definitions this long per person (0: read every time).
HDP_STORE_CACHE_SECONDS = env_int("HDP_STORE_CACHE_SECONDS", 5 * 60)

# --- Sandbox OAuth provider (django-oauth-toolkit) -------------------------------------------------
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "SCOPES": {
        "openid": "Tell the application which sandbox account you are (OpenID Connect)",
        "read": "Read your sandbox data",
        "offline_access": "Keep access when you are not signed in (refresh token)",
    },
    "DEFAULT_SCOPES": ["read"],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    # OpenID Connect: an id_token naming the account (sub, iss) with the openid scope. The issuer is
    # fixed (never read from a Host header); the RS256 key is generated into the database
    # (portal/sandbox/provider/keys.py), never set here.
    "OIDC_ENABLED": SANDBOX_ENABLED,
    "OIDC_ISS_ENDPOINT": f"{PORTAL_BASE_URL}/sandbox",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
}
if not SANDBOX_ENABLED:
    # The sandbox provider's URLs are not mounted (portal/urls.py); oauth2_provider stays installed
    # only for its tables. Keep every RFC 9700 gate of django-oauth-toolkit at its compliant value,
    # so `check --deploy --fail-level WARNING` passes in production (SECURITY.md item 24).
    OAUTH2_PROVIDER.update(
        {
            "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
            "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
            "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
            "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
            "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
            "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
            "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
            "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
            "REFRESH_TOKEN_REUSE_PROTECTION": True,
            "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
        }
    )
SANDBOX_PROVIDER_CLIENT_ID = env_str("SANDBOX_PROVIDER_CLIENT_ID", "sandbox-portal-client") or ""
SANDBOX_PROVIDER_CLIENT_SECRET = env_secret("SANDBOX_PROVIDER_CLIENT_SECRET", "sandbox-portal-secret") or ""
# [U] Whether the HDP emulator stores the new refresh token a provider returns on a refresh (HDP's docs
# do not say; docs/decisions.md). False plays an HDP that keeps the old one: with a rotating provider
# the profile then breaks at the next refresh (invalid_grant).
SANDBOX_HDP_WRITES_BACK_ROTATED_REFRESH_TOKEN = env_bool(
    "SANDBOX_HDP_WRITES_BACK_ROTATED_REFRESH_TOKEN", default=True
)

# --- Operations (portal/ops; docs/deploy.md "Operations") -----------------------------------------------
# /metrics answers only with "Authorization: Bearer <this>"; unset, /metrics does not exist (404).
PORTAL_METRICS_TOKEN = env_secret("PORTAL_METRICS_TOKEN") or ""
# hdp_portal_setups by tenant as well as by status (one series per tenant and status: mind the cardinality).
PORTAL_METRICS_PER_TENANT = env_bool("PORTAL_METRICS_PER_TENANT", default=False)
# The numbers /metrics reads from the database are kept this long in Django's (database) cache, shared by
# every instance: one computation per interval whatever the number of instances and scrapers (0: every scrape).
PORTAL_METRICS_CACHE_SECONDS = env_int("PORTAL_METRICS_CACHE_SECONDS", 10)
# /readyz asks HDP's health check: "report" (shown, never fails readiness), "require" (503 when HDP
# does not answer), "off" (not asked).
PORTAL_READYZ_HDP = (env_str("PORTAL_READYZ_HDP", "report") or "report").lower()
if PORTAL_READYZ_HDP not in {"report", "require", "off"}:
    raise ImproperlyConfigured("PORTAL_READYZ_HDP must be 'report', 'require' or 'off'.")
PORTAL_READYZ_HDP_TIMEOUT = float(env_int("PORTAL_READYZ_HDP_TIMEOUT_MS", 1000)) / 1000

# --- Logging ----------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO") or "INFO"
# "plain" (default, for `make run`) or "json": one JSON object per line for a log system.
PORTAL_LOG_FORMAT = (env_str("PORTAL_LOG_FORMAT", "plain") or "plain").lower()
if PORTAL_LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("PORTAL_LOG_FORMAT must be 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "portal.lib.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "portal.lib.logging.JsonFormatter"},
    },
    "handlers": {
        # The redaction filter runs before the formatter, whichever format.
        "console": {"class": "logging.StreamHandler", "formatter": PORTAL_LOG_FORMAT, "filters": ["redact"]},
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["redact"],
            "include_html": False,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console", "mail_admins"], "level": LOG_LEVEL, "propagate": False},
        # runserver's request lines (Django's default handler has no filter): through "redact", so a
        # handoff link's path never reaches the console (portal/lib/logging.py).
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # requests-oauthlib/oauthlib log request bodies and tokens at DEBUG: keep them above it.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
DEFAULT_EXCEPTION_REPORTER = "portal.lib.logging.PortalExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.lib.logging.PortalExceptionReporterFilter"
ADMINS = [("Ops", a) for a in env_list("ADMINS_EMAILS", [])]
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend") or ""
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (one file per message).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / ".tmp" / "mail")) or ""
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost") or "portal@localhost"
