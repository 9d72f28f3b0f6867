"""kaika settings: everything comes from the environment, with safe local defaults.

DEBUG is off unless asked for; with DEBUG off the site refuses to start without a SECRET_KEY
and turns on every HTTPS and cookie protection (`manage.py check --deploy` is clean).
"""

import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=true for local development)."
        )
    SECRET_KEY = "django-insecure-local-development-only-never-in-production"  # noqa: S105
# Old keys kept after a rotation (comma-separated): sessions and signed links made under them
# still verify, and residents' codes imported under them still match (residents/codes.py).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    # Two-factor authentication (TOTP): required for staff (ops.middleware), offered to all.
    "allauth.mfa",
    "django_tasks_db",
    "localflavor",
    "kaika",
    "supporters",
    "projects",
    # The waiting room for first-come openings (below purchases, whose confirmation asks it).
    "waitingroom",
    "purchases",
    "inquiries",
    # Codes mailed to the households of a residents-only project (below purchases, which
    # refuses an order without one).
    "residents",
    # Settling with shops: payee accounts (above purchases and projects).
    "settlements",
    # Lottery rounds (issue 23): applications and a verifiable draw into purchases' orders.
    "lottery",
    "ops",
    # The pre-launch cache canary (manage.py cache_canary): above every app it walks through.
    "canary",
]

MIDDLEWARE = [
    # Outermost on purpose: it sees the final response, after the session, CSRF and message
    # middlewares have added their cookies and Vary headers, and decides private or public.
    "kaika.middleware.PrivateByDefaultMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before the session's: a cookie that names no possible session is no cookie at all.
    "kaika.middleware.InvalidSessionCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # The tripwire's viewer cookie, set by a login and deleted by a logout (ops/tripwire.py).
    "ops.middleware.ViewerCookieMiddleware",
    # Staff without two-factor authentication are sent to set it up before entering admin.
    "ops.middleware.StaffTwoFactorMiddleware",
    # Innermost: its 503 still gets the security, CSP and private-by-default headers above.
    "ops.middleware.MaintenanceMiddleware",
]

# The waiting room's own pool (waitingroom/wsgi.py) answers its page through these alone, in
# the same order: what shapes every response, nothing that reads a session, user or form.
WAITINGROOM_MIDDLEWARE = [
    m
    for m in MIDDLEWARE
    if m
    in {
        "kaika.middleware.PrivateByDefaultMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "kaika.middleware.InvalidSessionCookieMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "django.middleware.csp.ContentSecurityPolicyMiddleware",
        "ops.middleware.MaintenanceMiddleware",
    }
]

ROOT_URLCONF = "kaika.urls"
WSGI_APPLICATION = "kaika.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kaika.context_processors.site",
                "ops.context_processors.viewer",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# The embedded default is a SQLite file in the project; production points DATABASE_URL at
# PostgreSQL, reached through psycopg 3 and Django's connection pool (CONN_MAX_AGE stays 0).
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    from psycopg_pool import ConnectionPool

    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "20")),
        # Health check before handing out a connection, so a PostgreSQL restart heals itself.
        "check": ConnectionPool.check_connection,
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
# The shared cache holds rate limits and cached sessions; it never holds a rendered page.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "kaika.cache_backends.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "kaika"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The waiting room's queue lives in Redis and nowhere else: without Redis nobody is admitted
# (it never opens to everyone), unlike the cache above, which falls back to local memory.
WAITINGROOM_REDIS_URL = os.environ.get("WAITINGROOM_REDIS_URL", REDIS_URL)

# Sessions in the database, read through the cache: they survive a Redis restart.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "supporters.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2id at the OWASP minimum first; PBKDF2 only so that old hashes can still be upgraded.
PASSWORD_HASHERS = [
    "kaika.hashers.Argon2idOwaspHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "supporters:mypage"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[kaika] "
ACCOUNT_SIGNUP_FORM_CLASS = "supporters.forms.SignupProfileForm"
ACCOUNT_ADAPTER = "supporters.adapters.AccountAdapter"

ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Before a sensitive change (email, two-factor setup) a signed-in person proves it is them by
# their password or their authenticator app. allauth 65.22 added a third default, a code
# mailed to the account's address: not offered, since whoever reads the mailbox could then
# change the very address the code goes to.
ACCOUNT_REAUTHENTICATION_METHODS = ("password", "mfa")
# TOTP (an authenticator app) with recovery codes; no WebAuthn yet (it would need fido2).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "kaika"
# Staff must have TOTP before admin opens (ops.middleware.StaffTwoFactorMiddleware).
KAIKA_STAFF_MFA_REQUIRED = env_bool("KAIKA_STAFF_MFA_REQUIRED", True)
# Counted in the shared cache (Redis in production), so every app process sees the same count.
# "/ip" means the client's address: behind nginx that needs TRUSTED_PROXY_COUNT (below), or
# every supporter is 127.0.0.1 and one count holds the whole site.
# Sized for 9:00, when a mobile carrier puts some 200 supporters behind one address within a
# minute (issue 19: 1,000 from 5 addresses); allauth's 30/m/ip would turn most of them away.
# login: every POST; three times such a rush. Guessing is refused by login_failed, before any
#   password is checked.
# login_failed: successes are taken back, so it counts typos, guesses and logins in progress.
#   60/m lets a quarter of a rush mistype; 600/h holds a sustained spray from one address to
#   allauth's 10/m; per account, allauth's 5 in 5 minutes. A guessing run shuts its address for
#   everyone behind it until its attempts age out: a count per address cannot tell them apart.
# Proof: tests/supporters/test_rate_limits.py and tests/front/test_rush_rate_limits.py.
ACCOUNT_RATE_LIMITS = {
    "login": os.environ.get("RATE_LIMIT_LOGIN", "600/m/ip"),
    "login_failed": os.environ.get("RATE_LIMIT_LOGIN_FAILED", "60/m/ip,600/h/ip,5/5m/key"),
    "signup": os.environ.get("RATE_LIMIT_SIGNUP", "20/m/ip"),
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_email": "5/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
# allauth counts each limit under a lock in Redis and refuses the login ("too many failed
# attempts") when it waits more than a second for it. At 9:00 a holder stalled on saturated
# cores keeps it longer than that, so kaika waits up to this many seconds (supporters.apps),
# within allauth's 10 s lock expiry (docs/deploy.md).
KAIKA_RATE_LIMIT_LOCK_WAIT = 5

# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date formats per language (kaika/formats/<lang>/formats.py): 2026年8月31日 9:00, 31 Aug 2026, 9:00
FORMAT_MODULE_PATH = ["kaika.formats"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# The site's own address, for links in emails sent outside a request (staff actions, tasks).
KAIKA_SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Email ----------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "kaika <noreply@kaika.example.jp>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# MAIL_BACKEND: "smtp" (the default when SMTP_HOST is set), or "console" / "file" for a local
# run. Django's deploy check refuses those two (mail.E001) and so does production: with DEBUG
# off the site will not start without a mail server or an explicit local choice, because a
# verification email that silently goes nowhere locks supporters out at the 9:00 rush.
MAIL_BACKEND = os.environ.get("MAIL_BACKEND") or (
    "smtp" if os.environ.get("SMTP_HOST") else "console" if DEBUG else ""
)
if MAIL_BACKEND == "smtp":
    if not os.environ.get("SMTP_HOST"):
        raise ImproperlyConfigured("MAIL_BACKEND=smtp needs SMTP_HOST.")
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["SMTP_HOST"],
                "port": int(os.environ.get("SMTP_PORT", "587")),
                "username": os.environ.get("SMTP_USER", ""),
                "password": os.environ.get("SMTP_PASSWORD", ""),
                "use_tls": env_bool("SMTP_TLS", True),
            },
        }
    }
elif MAIL_BACKEND == "console":
    # Printed readably by the process that sends them (the task worker under `make serve`),
    # the verification link included. kaika.checks flags it in `check --deploy`.
    MAILERS = {"default": {"BACKEND": "kaika.console_mail.ReadableConsoleBackend"}}
elif MAIL_BACKEND == "file":
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {
                "file_path": os.environ.get("MAIL_FILE_PATH", str(BASE_DIR / ".serve" / "mail"))
            },
        }
    }
elif not MAIL_BACKEND:
    raise ImproperlyConfigured(
        "Set SMTP_HOST when DEBUG is off (or MAIL_BACKEND=console or file for a local run)."
    )
else:
    raise ImproperlyConfigured(f"MAIL_BACKEND={MAIL_BACKEND!r}: use smtp, console or file.")

# --- Background tasks -----------------------------------------------------------------------
# Emails leave through django.tasks after the transaction commits. "database" queues them in
# PostgreSQL for `manage.py db_worker`; "immediate" (the embedded default) runs them in-process.
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "immediate" if DEBUG else "database")
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
        }[TASKS_BACKEND]
    }
}

# --- Inquiries (the contact form) ------------------------------------------------------------
# Who is told about a new inquiry; empty means every active staff user.
KAIKA_STAFF_EMAILS = env_list("KAIKA_STAFF_EMAILS")
# Contact form sends allowed per window, counted in the shared cache so that every app process
# sees the same count. Per IP is generous: Japanese mobile carriers put many people behind one
# address (CGNAT). Per email stops the form being used to flood one mailbox.
KAIKA_INQUIRY_RATE_LIMITS = {
    "ip": (int(os.environ.get("INQUIRY_RATE_LIMIT_IP", "20")), 10 * 60),
    "email": (int(os.environ.get("INQUIRY_RATE_LIMIT_EMAIL", "5")), 60 * 60),
}

# Residents' code entries allowed per window (residents/services.py), counted in the shared
# cache: per account, and per client address (generous, for carriers' CGNAT). With codes of
# 10 random characters, 10 tries an hour per account leave guessing hopeless.
KAIKA_RESIDENT_CODE_RATE_LIMITS = {
    "account": (int(os.environ.get("RESIDENT_CODE_RATE_LIMIT_ACCOUNT", "10")), 60 * 60),
    "ip": (int(os.environ.get("RESIDENT_CODE_RATE_LIMIT_IP", "60")), 60 * 60),
}

# --- Purchases ------------------------------------------------------------------------------
# How long a pending order holds its share of the budget, stock and personal allowance before
# it is released (by `manage.py expire_orders`, or lazily when a cap is hit).
KAIKA_ORDER_RESERVATION_MINUTES = int(os.environ.get("ORDER_RESERVATION_MINUTES", "15"))
# A reservation's transaction commits without waiting for the disk flush (PostgreSQL's
# synchronous_commit = off, for that transaction only): at 9:00 the hot rows' locks are then
# held for microseconds, not a flush each. A PostgreSQL crash may lose the last fraction of a
# second of reservations, whole. See purchases/services.py and docs/operations.md.
KAIKA_ORDER_ASYNC_COMMIT = env_bool("ORDER_ASYNC_COMMIT", True)
# Debug hook for the race tests: seconds an order or a till waits between its checks and its
# writes. Never read from the environment; only a test's settings set it.
KAIKA_DEBUG_PAUSE_AFTER_CHECKS = 0
# The payment provider (purchases.payments). The built-in sandbox accepts only test cards,
# which in production would mean free tickets: with DEBUG off it must be named explicitly.
KAIKA_PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "")
if not KAIKA_PAYMENT_GATEWAY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set PAYMENT_GATEWAY when DEBUG is off (purchases.payments.SandboxGateway accepts "
            "test cards only: for a local run, never for real sales)."
        )
    KAIKA_PAYMENT_GATEWAY = "purchases.payments.SandboxGateway"
STRIPE_GATEWAY = "purchases.payments.StripeGateway"
KAIKA_STRIPE = KAIKA_PAYMENT_GATEWAY == STRIPE_GATEWAY
# Stripe (docs/deploy.md): the secret API key (sk_live_..., sk_test_... in test mode, or a
# restricted rk_... key) and the signing secret of the webhook endpoint (whsec_...).
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
if KAIKA_STRIPE:
    _wrong = [
        name
        for name, value, prefixes in (
            ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY, ("sk_", "rk_")),
            ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET, ("whsec_",)),
        )
        if not value.startswith(prefixes)
    ]
    if _wrong:
        raise ImproperlyConfigured(
            f"PAYMENT_GATEWAY={STRIPE_GATEWAY} needs {' and '.join(_wrong)} (a secret key "
            "sk_... or rk_..., never the publishable pk_...; the webhook secret whsec_...)."
        )
# Stripe's API, unless the tests point the real client at their stand-in on loopback.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
# Seconds per API call, and retries of a timeout or a 5xx with the same idempotency key: a
# supporter waits at most about (1 + retries) x timeout before "try again" (the library's
# own default is 80 s, which would hold a web worker at 9:00).
STRIPE_API_TIMEOUT = float(os.environ.get("STRIPE_API_TIMEOUT", "10"))
STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "1"))
# This site's name on its payments' metadata: events of a payment another site made on the
# same Stripe account (staging beside production) are ignored, never refunded as orphans.
KAIKA_PAYMENT_SITE = os.environ.get("PAYMENT_SITE_ID", "") or urlsplit(KAIKA_SITE_URL).netloc
# Stripe's hosted payment page: the confirmation form's answer redirects there, and browsers
# hold a form's redirects to the page's CSP form-action.
STRIPE_CHECKOUT_ORIGIN = os.environ.get("STRIPE_CHECKOUT_ORIGIN", "https://checkout.stripe.com")

# --- The office (事務局): the seller on the 特定商取引法 page, the issuer of receipts ----------
# A site that takes real money must say who sells, where and how to reach them (特定商取引法
# 第11条): with a real payment provider and DEBUG off the site refuses to start without these.
# A local run or the sandbox (which takes no money) shows demo values, marked as such.
# The values are shown as given, on the English pages too (a legal name is not translated).
KAIKA_OFFICE_IS_DEMO = DEBUG or KAIKA_PAYMENT_GATEWAY == "purchases.payments.SandboxGateway"
_OFFICE_DEMO = {
    "name": _("kaika 頑張るお店応援プロジェクト事務局"),
    "representative": _("事務局長 山口 太郎(デモ)"),
    "address": _("〒753-0000 山口県山口市(デモ用の架空の住所)"),
    "phone": "000-0000-0000",
    "email": "office@kaika.example.jp",
    "hours": _("平日 9:00〜17:00(土日祝日・年末年始を除く)"),
}
_office_env = {key: os.environ.get(f"OFFICE_{key.upper()}", "").strip() for key in _OFFICE_DEMO}
KAIKA_OFFICE = {
    key: value or (_OFFICE_DEMO[key] if KAIKA_OFFICE_IS_DEMO else "")
    for key, value in _office_env.items()
}
_missing = [f"OFFICE_{key.upper()}" for key, value in _office_env.items() if not value]
if _missing and not KAIKA_OFFICE_IS_DEMO:
    raise ImproperlyConfigured(
        f"Set {', '.join(_missing)}: a site that takes payments must name its seller "
        "(the 特定商取引法 page and receipts show them)."
    )
# 適格請求書発行事業者登録番号 of the office, printed on receipts when set: "T" and 13 digits.
# The office receives the supporters' money, so its number, not a shop's (purchases/views.py).
KAIKA_INVOICE_REGISTRATION_NUMBER = (
    unicodedata.normalize("NFKC", os.environ.get("INVOICE_REGISTRATION_NUMBER", ""))
    .replace("-", "")
    .replace(" ", "")
    .upper()
)
if KAIKA_INVOICE_REGISTRATION_NUMBER and not re.fullmatch(
    r"T[0-9]{13}", KAIKA_INVOICE_REGISTRATION_NUMBER
):
    raise ImproperlyConfigured(
        "INVOICE_REGISTRATION_NUMBER must be T followed by 13 digits (e.g. T1234567890123)."
    )
# The programme's side of the 全銀協 総合振込 bank file (settlements): the 委託者 code the bank
# assigned, the name in half-width kana, and the account debited. A local run or the sandbox
# gets demo values; elsewhere an unset value refuses the download (never the site's start).
_BANK_DEMO = {
    "consignor_code": "0000000001",
    "consignor_name": "ｶｲｶ ｼﾞﾑｷﾖｸ",
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "1",
    "account_number": "0000001",
}
KAIKA_BANK_CONSIGNOR = {
    key: os.environ.get(f"BANK_{key.upper()}", "").strip() or (demo if KAIKA_OFFICE_IS_DEMO else "")
    for key, demo in _BANK_DEMO.items()
}
# The terms' version (the date they took effect): stored with each signup's consent. Change it
# with any material change to templates/projects/terms.html.
KAIKA_TERMS_VERSION = "2026-12-07"

# --- Operations (ops/) ---------------------------------------------------------------------
# Retry-After (seconds) on the maintenance page when staff gave no planned end.
KAIKA_MAINTENANCE_RETRY_AFTER = int(os.environ.get("KAIKA_MAINTENANCE_RETRY_AFTER", "600"))

# Exposure log rows (who was shown whose data) are kept this long, then `manage.py
# prune_exposure_log` deletes them. Long enough to investigate a leak reported months later.
KAIKA_EXPOSURE_LOG_RETENTION_DAYS = int(os.environ.get("KAIKA_EXPOSURE_LOG_RETENTION_DAYS", "400"))

# The leak tripwire (ops/tripwire.py): "N/S" switches the site to maintenance when N different
# people report, within S seconds, a page made for someone else; "0" leaves it to staff.
_tripwire = os.environ.get("KAIKA_TRIPWIRE_AUTO_MAINTENANCE", "5/60").split("/")
KAIKA_TRIPWIRE_AUTO_MAINTENANCE = (
    int(_tripwire[0]),
    int(_tripwire[1]) if len(_tripwire) > 1 else 60,
)

# --- Security -------------------------------------------------------------------------------
# Behind a TLS-terminating proxy, trust its scheme header only when told to.
if env_bool("BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies we run in front of the app (nginx: 1; a CDN then nginx: 2). The rate limits
# and the exposure log then read the client's address from X-Forwarded-For, not nginx's. Too
# low: everyone shares one address and its counts; too high: a visitor's own X-Forwarded-For
# chooses the address counted. docs/deploy.md says how to set and check it.
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script and no nonce: public pages are shared by a cache, and a nonce shared by
# everyone who got the cached copy protects nothing. Scripts are static files only.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF, *([STRIPE_CHECKOUT_ORIGIN] if KAIKA_STRIPE else [])],
    "frame-ancestors": [CSP.NONE],
}

# Public pages (marked with kaika.cache.public_page) that touch the session, the user or a
# CSRF token are sent private; with this on, that mistake raises instead of only logging.
KAIKA_STRICT_PUBLIC_PAGES = env_bool("KAIKA_STRICT_PUBLIC_PAGES", DEBUG)

# How long a shared cache may keep a public page (s-maxage): the microcache absorbs the 9:00
# rush while changes (suspension, stock, opening) still show within a second.
KAIKA_SHARED_CACHE_MAX_AGE = int(os.environ.get("KAIKA_SHARED_CACHE_MAX_AGE", "1"))

# Shop pages are the exception: 3,200 of them, each asked for less than once a second by
# anonymous visitors, so with a one-second copy nearly every request would be rendered by
# Django. A shared cache keeps them this long instead. What that means for the people
# reading them (the decision, made on issue 8):
# - the figures on an anonymous shop page (supporters, amount raised, units left) are up to
#   this many seconds old, and the page says at what time they were counted;
# - the order itself is always checked against the database, at once: a sold-out listing, a
#   spent budget or a suspended round refuses the order with its own message;
# - signed-in visitors never get a stored copy (nginx bypasses its cache for a session);
# - browsers are told not to keep shop pages (max-age=0): nginx sends no Age header, so a
#   browser would count its own lifetime from the moment it got an already old copy. A shop
#   page is then never more than this many seconds old wherever it comes from; before, with a
#   one-second shared copy and 60 s in browsers, it could be 61 s;
# - the round's scheduled opening and closing stay exact: a copy never outlives the round's
#   next change (projects.views.expire_public_copy_at); a staff suspension, a shop's edit or
#   a stop of the whole site shows on anonymous shop pages within this many seconds.
# 1 gives shop pages the one-second copy of every other public page.
KAIKA_SHOP_PAGE_SHARED_MAX_AGE = int(os.environ.get("KAIKA_SHOP_PAGE_SHARED_MAX_AGE", "60"))

# The waiting room's drawn order (waitingroom.views.places) does not change once drawn: the
# front keeps each of its parts a minute, so 10,000 browsers learning their place just after
# the opening make 256 requests to the app, not 10,000.
WAITINGROOM_PLACES_SHARED_MAX_AGE = 60

# The benchmark's URLs (kaika's plus its bare view, bench/urls.py) are used only when this is
# on: `make bench` sets it for its own stack; production never does.
KAIKA_BENCH = env_bool("KAIKA_BENCH")
if KAIKA_BENCH:
    ROOT_URLCONF = "bench.urls"

# Demo accounts exist only where DEBUG is on or this is set explicitly (never in production).
KAIKA_ALLOW_DEMO_DATA = env_bool("KAIKA_ALLOW_DEMO_DATA", DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}
