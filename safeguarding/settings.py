"""One settings module, driven by the environment, with safe defaults.

Production sets DATABASE_URL (PostgreSQL), CELERY_BROKER_URL (Redis), SECRET_KEY and
ALLOWED_HOSTS. `make run` sets DEMO_MODE=1, which may never be used in production: it seeds
demo users with a shared password and does not enforce MFA.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Lets admin and queryset classes be subscripted for the type checker at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(environ.Env().str("DATA_DIR", default=str(BASE_DIR / ".data")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# Demo mode: seeded demo users, MFA not enforced. Never in production.
DEMO_MODE = env.bool("DEMO_MODE", default=False)
REQUIRE_MFA = env.bool("REQUIRE_MFA", default=not DEMO_MODE)
# The shared password of the seeded demo users (demo mode only).
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo-safeguarding-2026")


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not (DEMO_MODE or DEBUG):
        raise ImproperlyConfigured("SECRET_KEY must be set outside demo mode.")
    # Demo and development: a random key kept on this machine, never in the repository.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Keys the audit trail's hash chain, so someone with only database access cannot rebuild it
# after editing an event. Set it in production and keep it when SECRET_KEY is rotated.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="audit-chain:" + SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    # Django's admin with our site: agency admins and superusers only, verified sessions,
    # every change also an audit event (safeguarding/admin.py).
    "safeguarding.apps.SafeguardingAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "oauth2_provider",
    "agencies",
    "referrals",
]

MIDDLEWARE = [
    # First: who the client is and whether they used HTTPS, believed only from our proxies.
    "safeguarding.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "safeguarding.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "safeguarding.middleware.RequestContextMiddleware",
    "safeguarding.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "safeguarding.middleware.AuditDeniedMiddleware",
    "safeguarding.middleware.MFARequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: both tell a person why they were signed out.
    "safeguarding.middleware.SessionEndedMiddleware",
    # After messages: it tells a person why they were signed out.
    "safeguarding.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "safeguarding.urls"
WSGI_APPLICATION = "safeguarding.wsgi.application"

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
                "safeguarding.context_processors.service",
            ],
            # The referrals app keeps its template tags with its pages (referrals/web).
            "libraries": {
                "govuk": "referrals.web.templatetags.govuk",
                "notifications": "referrals.web.templatetags.notifications",
                "triage": "referrals.web.templatetags.triage",
            },
        },
    },
]

# Databases: SQLite for trying it out, PostgreSQL for tests and production.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's psycopg 3 connection pool; CONN_MAX_AGE must stay 0 with it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=10),
        "timeout": 10,
    }
    # Prepared statements (docs/design.md "Performance"; the bench measures them on every
    # run): parameters bound on the server, and a statement run five times on a connection is
    # prepared, so it is not parsed again. Planned afresh for each run's parameters: a generic
    # plan made the queue slower (its scope's ids are inlined for the planner). Off behind a
    # pooler that cannot keep prepared statements (PgBouncer's transaction mode).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"].update(
            server_side_binding=True,
            prepare_threshold=5,
            options=" ".join(
                filter(
                    None,
                    [
                        DATABASES["default"]["OPTIONS"].get("options"),
                        "-c plan_cache_mode=force_custom_plan",
                    ],
                )
            ),
        )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "agencies.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-guardian: object permissions live in direct foreign-key tables, never granted to
# AnonymousUser.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# django-axes: lock out after repeated failures, with a cool-off, never permanently.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The client's own address (behind a proxy, not the proxy's): one person's failures never lock
# out the same name signing in from elsewhere.
AXES_CLIENT_IP_CALLABLE = "safeguarding.proxies.request_client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
# Locked out: the sign-in form says so and for how long, instead of axes' own page.
AXES_LOCKOUT_CALLABLE = "agencies.views.sign_in_locked_out"

# Sessions: idle timeout, absolute lifetime, cookies that scripts cannot read.
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_COOKIE_AGE = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=not (DEBUG or DEMO_MODE))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# HTTPS everywhere outside the demo; the health check answers the load balancer over HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not (DEBUG or DEMO_MODE))
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Addresses or networks of the proxies in front of the service (comma-separated). Only their
# X-Forwarded-For and X-Forwarded-Proto are believed (safeguarding/proxies.py); none by default.
TRUSTED_PROXIES = [
    # Parsed here, so a mistyped address stops the service starting rather than trusting nobody.
    str(ipaddress.ip_network(proxy, strict=False))
    for proxy in env.list("TRUSTED_PROXIES", default=[])
]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEMO_MODE else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEMO_MODE)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # GOV.UK Frontend, installed from npm and compiled by `make assets` (see Makefile).
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
    ("build", DATA_DIR / "assets"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or DEMO_MODE
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or DEMO_MODE
# Uploaded files are evidence: kept outside any folder the web server serves.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
# No MEDIA_URL is routed: files leave only through the audited download view.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Celery: Redis in production and tests; a file-system broker for `make run`.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Else kombu keeps its broadcast exchanges in ./control, inside the checkout.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Publishing fails fast when Redis is down: the outbox row is already committed and the
    # periodic relay sends it, so a request must never hang on the broker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
# Workers log through LOGGING (JSON lines with a request id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Beat only triggers sweeps; every deadline lives in a database column. Run exactly one beat;
# a second one only sends more sweeps, which find nothing left to do.
NOTIFICATION_RELAY_INTERVAL_SECONDS = env.float("NOTIFICATION_RELAY_INTERVAL_SECONDS", default=30)
ESCALATION_SWEEP_INTERVAL_SECONDS = env.float("ESCALATION_SWEEP_INTERVAL_SECONDS", default=60)
# Referrals escalated per transaction: short row locks, few round trips.
ESCALATION_SWEEP_BATCH_SIZE = env.int("ESCALATION_SWEEP_BATCH_SIZE", default=500)
# A claimed notification not sent within this time belongs to a dead worker and is taken again.
NOTIFICATION_CLAIM_TIMEOUT_SECONDS = env.float("NOTIFICATION_CLAIM_TIMEOUT_SECONDS", default=300)
# The audit chain's head, signed and appended outside the database (referrals/audit.py):
# "file" (AUDIT_ANCHOR_FILE, opened for appending; make it append-only on disk, chattr +a) or
# "syslog" (the safeguarding.audit_anchor logger, shipped to a store with retention).
AUDIT_ANCHOR_SINK = env.str("AUDIT_ANCHOR_SINK", default="file")
AUDIT_ANCHOR_FILE = env.str("AUDIT_ANCHOR_FILE", default=str(DATA_DIR / "audit-anchors.jsonl"))
AUDIT_ANCHOR_INTERVAL_SECONDS = env.float("AUDIT_ANCHOR_INTERVAL_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "audit-anchor": {
        "task": "referrals.audit.audit_anchor_task",
        "schedule": AUDIT_ANCHOR_INTERVAL_SECONDS,
        "options": {"expires": AUDIT_ANCHOR_INTERVAL_SECONDS},
    },
    "notifications-relay": {
        "task": "referrals.tasks.notifications_relay_task",
        "schedule": NOTIFICATION_RELAY_INTERVAL_SECONDS,
        # A trigger nobody ran in time is replaced by the next one, not queued up behind it.
        "options": {"expires": NOTIFICATION_RELAY_INTERVAL_SECONDS},
    },
    "referral-escalations-sweep": {
        "task": "referrals.tasks.referral_escalations_sweep_task",
        "schedule": ESCALATION_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": ESCALATION_SWEEP_INTERVAL_SECONDS},
    },
    # Tidying only: a share stops counting at its expiry in the selectors themselves.
    "shares-expire": {
        "task": "referrals.tasks.shares_expire_task",
        "schedule": 15 * 60,
        "options": {"expires": 15 * 60},
    },
}

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.console.EmailBackend"
        if DEMO_MODE or DEBUG
        else "django.core.mail.backends.smtp.EmailBackend"
    ),
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(DATA_DIR / "mail"))
# Well inside the relay's claim timeout, so a slow mail server never causes a second send.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="safeguarding@localhost")
# Where people write about the service: a problem with accessibility, their data or signing
# in (the help, accessibility and privacy pages). Set it in production: the sender address
# above is often one nobody reads.
SERVICE_CONTACT_EMAIL = env.str("SERVICE_CONTACT_EMAIL", default=DEFAULT_FROM_EMAIL)
# The phase banner's "give your feedback" link, on every page: a survey's address, or by
# default an email to the service team.
FEEDBACK_URL = env.str(
    "FEEDBACK_URL", default=f"mailto:{SERVICE_CONTACT_EMAIL}?subject=Feedback%20on%20the%20service"
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["referrals.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "referrals.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# The incremental feed serves changes older than the oldest open transaction, less this
# margin for clock skew between web servers and the database (see referrals/api/feed.py).
# Requests per client (an agency system or a person) over the API; 429 with Retry-After past it.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/min")
API_FEED_HORIZON_MARGIN_SECONDS = env.float("API_FEED_HORIZON_MARGIN_SECONDS", default=2.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Safeguarding referrals API",
    "DESCRIPTION": (
        "For partner agencies' systems: pull the referrals your agency may see, incrementally, "
        "and submit your own. Authenticate with OAuth2 client credentials at /o/token/ "
        "(scopes referrals:read, referrals:write). Errors are RFC 9457 problems whose `type` "
        "is stable: /api/problems/validation, /unauthenticated, /forbidden, /not-found, "
        "/conflict, /state, /idempotency-key-reused, /throttled. Feeds: keep `next_cursor` "
        "and pull again; every change is delivered once, in order of (updated_at, id), and "
        "only changes older than the oldest open database transaction are served, so a "
        "transaction that commits late is never skipped."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: `null` is a type, so a nullable field (a referral's decision) validates strictly.
    "OAS_VERSION": "3.1.0",
    # The rules across fields, stated in the schema (referrals/api/contract.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "referrals.api.contract.schema_rules",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

OAUTH2_PROVIDER = {
    "SCOPES": {
        "referrals:read": "Read the referrals your agency may see",
        "referrals:write": "Submit referrals for your agency",
    },
    "DEFAULT_SCOPES": ["referrals:read"],
    # Short-lived tokens; client secrets are stored hashed (the default); revoke in admin.
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("ACCESS_TOKEN_EXPIRE_SECONDS", default=600),
    # OAuth 2.0 Security BCP (RFC 9700): only client credentials are used, but nothing weaker
    # is left switched on; tokens are stored hashed, never in a URL, redirects https only.
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

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "safeguarding.logging.RequestIdFilter"}},
    "formatters": {
        # One JSON object per line, with the request id; see safeguarding/logging.py.
        "json": {"()": "safeguarding.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
