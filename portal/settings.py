"""Settings of the telemetry portal, read from the environment (see operations.md and .env.example)."""

import json
import secrets
import sys
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# A local run with DJANGO_DEBUG=true needs no set-up: missing secrets are generated once and kept in
# .dev-secrets.json (git-ignored) so that sessions and pseudonyms survive a restart. Without DEBUG a
# missing secret stops the start with one line naming the variable.
_DEV_SECRETS_FILE = BASE_DIR / ".dev-secrets.json"


def _development_secret(name: str) -> str:
    try:
        stored = json.loads(_DEV_SECRETS_FILE.read_text())
    except (OSError, ValueError):
        stored = {}
    if name not in stored:
        stored[name] = secrets.token_urlsafe(48)
        _DEV_SECRETS_FILE.write_text(json.dumps(stored))
    return stored[name]


def _required_secret(name: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return _development_secret(name)
    # One line, no traceback: this is an operator's mistake, not a bug.
    raise SystemExit(f"{name} is not set; set it in the environment (or DJANGO_DEBUG=true for a local run).")


SECRET_KEY = _required_secret("DJANGO_SECRET_KEY")
TELEMETRY_HASH_KEY = _required_secret("TELEMETRY_HASH_KEY")
if TELEMETRY_HASH_KEY == SECRET_KEY:
    raise SystemExit("TELEMETRY_HASH_KEY must differ from DJANGO_SECRET_KEY.")
# Keys that made pseudonyms still stored, after a rotation (README, "Pseudonymization rules").
TELEMETRY_PREVIOUS_HASH_KEYS = env.list("TELEMETRY_PREVIOUS_HASH_KEYS", default=[])

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Under /api/ and /portal/api/ a CSRF refusal is a problem like every other answer there (api.md).
CSRF_FAILURE_VIEW = "telemetry.problems.csrf_failure"

TELEMETRY_RATE_LIMIT = env.int("TELEMETRY_RATE_LIMIT", default=6000)
# Census names no tenant, so its retention is the installation's (lifecycle.md): 1 to 2562 days.
TELEMETRY_CENSUS_RETENTION_DAYS = env.int("TELEMETRY_CENSUS_RETENTION_DAYS", default=60)
if not 1 <= TELEMETRY_CENSUS_RETENTION_DAYS <= 2562:
    raise SystemExit("TELEMETRY_CENSUS_RETENTION_DAYS must be a number of days from 1 to 2562.")

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "tenants",
    "telemetry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The headers every answer carries come from the outermost middleware, so that an answer given
    # early by an inner one (the NUL refusal below, a static file) carries them too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # The browser's language or the switcher's cookie chooses (neither is read from the session), except
    # under the client API, which answers in English. Outside the NUL refusal, so that it speaks the
    # language and carries Content-Language like any other answer.
    "portal.middleware.PortalLocaleMiddleware",
    # Early: a NUL in the address is refused before anything can pass it to the database.
    "portal.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as django-axes asks: it answers locked-out sign-ins.
    "axes.middleware.AxesMiddleware",
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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://telemetry-portal")}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Brute-force lockout on sign-in: five failures per user name and address lock for an hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Quiet: otherwise every process (each management command) starts with an INFO line on stderr, and a
# command's error must be the one line a script sees there.
AXES_VERBOSE = False
# Axes keys attempts by the client's /24 (IPv4) or /48 (IPv6) network, never its full address.
AXES_CLIENT_IP_CALLABLE = "portal.security.client_network"

LANGUAGE_CODE = "en"
# The languages of the source document's revisions (operations.md, "Languages"). The names are the
# languages' own (the switcher shows get_language_info(code).name_local), so they are not marked.
LANGUAGES = [
    ("en", "English"),
    ("it", "Italiano"),
    ("zh-hans", "简体中文"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates as ISO 8601 on every page (portal/formats/en/formats.py): one format beside the dashboard's days.
FORMAT_MODULE_PATH = ["portal.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The portal's own files (the language switcher's style); the apps' come from their static/ folders.
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or "pytest" in sys.modules
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "admin:login"

# Security headers. Cookies and HSTS are secure by default; a local run over plain HTTP turns them
# off with DJANGO_DEBUG=true or DJANGO_SECURE_SSL=false.
SECURE_SSL = env.bool("DJANGO_SECURE_SSL", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = SECURE_SSL
SECURE_HSTS_SECONDS = 31536000 if SECURE_SSL else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = SECURE_SSL
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# The pages ship no inline script or style and load nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Log lines never carry request bodies: telemetry holds personal data before it is pseudonymized.
# Request lines carry user IDs in client API URLs (/api/v1/users/<id>/..., ?user=<id>): the loggers
# that print them and the root handler redact those (portal/logging.py). A filter on a logger rewrites
# the record before any handler up the hierarchy (Django's own "console" too) formats it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_user_ids": {"()": "portal.logging.RedactUserIds"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_user_ids"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_user_ids"],
        },
    },
    "loggers": {
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_user_ids"],
        },
        "django.request": {"filters": ["redact_user_ids"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
