"""Settings shared by every process (ARCHITECTURE §3, §6): everything is read from the environment here.

dev/test/prod/worker modules only override defaults; nothing exists in one of them alone.
"""

import os
from datetime import timedelta
from pathlib import Path

from corsheaders.defaults import default_headers

from apps.core.error_tracking import init_error_tracking

from .environment import Env

BASE_DIR = Path(__file__).resolve().parents[4]

env = Env()
# A developer's .env (or the file ENV_FILE names) is read when present; real deployments pass the environment
# itself, which wins over the file. A blank value in either counts as unset (environment.py).
_ENV_FILE = Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env")
if _ENV_FILE.is_file():
    Env.read_env(_ENV_FILE, overwrite=False)

# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------
# No default: dev.py makes one under DEV_SECRETS_DIR, prod.py refuses to start without one.
SECRET_KEY = env("SECRET_KEY", default="")
# Where dev.py keeps the SECRET_KEY and internal tokens it makes once; prod and worker settings never read it.
DEV_SECRETS_DIR = Path(env("DEV_SECRETS_DIR", default=str(BASE_DIR / "var" / "secrets")))
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
APP_VERSION = env("APP_VERSION", default="0.1.0")
API_BASE_URL = env("API_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.domains.students",
    "apps.domains.lectures",
    "apps.domains.enrollment",
    "apps.domains.video",
    "apps.domains.messaging",
    "apps.domains.ai",
    "apps.domains.exams",
    "apps.domains.accounts",
    "apps.domains.me",
    "apps.jobs",
    "apps.integrations",
]

MIDDLEWARE = [
    # Outermost: preflights are answered first, and every final answer carries CORS, including the JSON error
    # ApiErrorMiddleware puts in place of an HTML page.
    "corsheaders.middleware.CorsMiddleware",
    # Sees every other answer: errors under /api/ are JSON even where Django renders HTML (DEBUG pages).
    "apps.core.middleware.ApiErrorMiddleware",
    "apps.core.middleware.InternalHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The admin's CSS and JS, from STATIC_ROOT (collected when the API image is built): gunicorn serves no files.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "apps.core.middleware.ApiCommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "apps.api.config.urls"
WSGI_APPLICATION = "apps.api.config.wsgi.application"
AUTH_USER_MODEL = "core.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# The one password policy (apps/core/passwords.py): student accounts and the Excel import's initial password too.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ko-kr"
# Korean only: every answer (DRF's field errors included) is Korean whatever the browser's Accept-Language says; a
# front end on an English-language laptop got "This field is required." beside a Korean message.
LANGUAGES = [("ko", "한국어")]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------
# HTTPS and security headers (prod.py turns redirect and HSTS on; docs/deploy.md)
# ---------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Called by private address over plain HTTP: the load balancer's target check, the workers and the scaling Lambda.
# Patterns match the path without its leading slash (django.middleware.security).
SECURE_REDIRECT_EXEMPT = [r"^health/?$", r"^api/v1/internal/"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading commits the whole registrable domain to HTTPS in browsers for months: an operator's decision.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "var" / "static"))

# ---------------------------------------------------------------------------
# Database: Postgres when DB_HOST is set, else an embedded SQLite file
# ---------------------------------------------------------------------------
DB_HOST = env("DB_HOST", default="")
if DB_HOST:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": DB_HOST,
            "PORT": env.int("DB_PORT", default=5432),
            "NAME": env("DB_NAME", default="academy"),
            "USER": env("DB_USER", default="postgres"),
            "PASSWORD": env("DB_PASSWORD", default=""),
            "CONN_MAX_AGE": env.int("DB_CONN_MAX_AGE", default=60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {"connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=5)},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", default=str(BASE_DIR / "var" / "academy.sqlite3")),
            # The table queue and the API share this file: wait for the writer instead of failing.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

# ---------------------------------------------------------------------------
# Cache and counters: Redis when REDIS_URL is set, else process memory
# ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Starts every key this deployment writes, so two deployments (staging, production) may share one Redis.
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="academy")
# The job status poll's cache (apps/jobs/status_cache.py); off without REDIS_URL, as workers share no memory.
JOB_STATUS_CACHE_SECONDS = env.int("JOB_STATUS_CACHE_SECONDS", default=60)
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": CACHE_KEY_PREFIX}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# ---------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's, plus the token version check (a reset or deactivation ends every token).
        "apps.core.authentication.VersionedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.permissions.IsTenantMember"],
    # JSON bodies nested past apps.core.parsers.MAX_JSON_DEPTH are a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "apps.core.search.PhoneAwareSearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "UPDATE_LAST_LOGIN": False,
}
# Failed logins (apps/core/login_throttle.py): per (username, address) pair, so another address still logs in, and
# per address across usernames, so one address cannot guess many accounts. Counted in one window of minutes.
LOGIN_FAILURES_PER_ACCOUNT_ADDRESS = env.int("LOGIN_FAILURES_PER_ACCOUNT_ADDRESS", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=30)
LOGIN_FAILURE_WINDOW_MINUTES = env.int("LOGIN_FAILURE_WINDOW_MINUTES", default=15)
# Parent invites (docs/parents.md): hours a texted one-time code stays valid, and wrong tries before it is void.
PARENT_INVITE_CODE_HOURS = env.int("PARENT_INVITE_CODE_HOURS", default=72)
PARENT_INVITE_MAX_ATTEMPTS = env.int("PARENT_INVITE_MAX_ATTEMPTS", default=5)
# The address parents log in at, put in the invite text; blank leaves the line out.
PARENT_LOGIN_URL = env("PARENT_LOGIN_URL", default="")
# The load balancer's addresses (also read by gunicorn): from them alone X-Forwarded-For names the client.
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1"])
SPECTACULAR_SETTINGS = {
    "TITLE": "academy API",
    "DESCRIPTION": """학원 운영 SaaS의 백엔드 API입니다. 학생, 강의와 회차, 수강, 출결을 관리하고
엑셀 명단 가져오기·내보내기와 강의 영상 업로드·재생을 제공합니다.

**인증**: `POST /api/v1/auth/token/`에 `username`과 `password`를 보내 받은 `access` 토큰을
`Authorization: Bearer <access>` 헤더로 보냅니다(오른쪽 위 Authorize 버튼).
access 토큰이 만료되면 `POST /api/v1/auth/token/refresh/`에 `refresh` 토큰을 보내 새로 받습니다.
모든 자료는 로그인한 사용자의 학원 것만 보이며, 다른 학원의 id는 `404`로 답합니다.

**오류 형식**: 모든 오류는 `{"code": "STUDENT_DUPLICATE", "message": "…", "details": {…}}`
모양의 JSON입니다. `code`는 바뀌지 않는 대문자 코드로 프로그램이 분기할 때 쓰고,
`message`는 사람에게 보여 줄 한국어 문장입니다.
입력 검증 실패는 `400 VALIDATION_ERROR`이며 `details`에 필드별 오류가 담깁니다.

**작업 조회**: 엑셀 가져오기·내보내기와 영상 변환처럼 오래 걸리는 요청은
곧바로 `202`와 `job_id`를 돌려줍니다. `GET /api/v1/jobs/{job_id}/`를 1~2초마다 조회하거나
`GET /api/v1/jobs/{job_id}/events/`(Server-Sent Events)를 구독해 `status`가
`DONE`, `FAILED`, `DEAD`, `CANCELLED` 중 하나가 될 때까지 기다립니다.
결과는 `result`, 실패 이유는 `error`에 있습니다.

**목록**: 목록은 `page`와 `page_size`(최대 500)로 나뉘어 `{count, next, previous, results}`로 오며,
`search`, `ordering`과 엔드포인트별 필터를 받습니다.""",
    "VERSION": APP_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the app's own static files (drf-spectacular-sidecar): no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI lists the tags in this order.
    "TAGS": [
        {"name": "인증", "description": "토큰 발급과 로그인한 사용자"},
        {"name": "계정", "description": "학생과 학부모의 로그인 계정: 발급, 초기화, 학부모 초대, 보호자 동의"},
        {"name": "내 정보", "description": "학생과 학부모 본인용: 강의, 일정, 출결, 영상 진도, 시험 결과, 받은 문자"},
        {"name": "학생", "description": "학생 등록, 수정, 삭제와 복구"},
        {"name": "강의", "description": "강의와 회차"},
        {"name": "수강", "description": "강의별 수강 등록"},
        {"name": "출결", "description": "회차별 출결"},
        {"name": "엑셀", "description": "엑셀 명단 가져오기, 내보내기, 양식"},
        {"name": "작업", "description": "오래 걸리는 요청의 진행 상태"},
        {"name": "영상", "description": "강의 영상 업로드, 변환, 재생"},
        {"name": "문자", "description": "문자·알림톡 발송과 미리보기, 수신자별 상태, 템플릿, 광고 수신 동의, 수신거부, "
                                     "자동 알림, 발송 설정과 문자 크레딧"},
        {"name": "인공지능", "description": "이미지 글자 인식(OCR) 등 AI 작업"},
        {"name": "시험", "description": "OMR 답안지로 채점하는 시험: 정답과 배점, 답안지 PDF와 좌표"},
        {"name": "내부", "description": "워커와 Lambda 전용 (내부 토큰 필요)"},
        {"name": "상태", "description": "로드 밸런서의 상태 확인"},
    ],
    # Several models have a "status" field with different choices: name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "EnrollmentStatusEnum": "apps.domains.enrollment.models.EnrollmentStatus",
        "AttendanceStatusEnum": "apps.domains.enrollment.models.AttendanceStatus",
        "JobStatusEnum": "apps.jobs.models.JobState",
        "MessageSendStatusEnum": "apps.domains.messaging.models.SendStatus",
        "MessageRecipientStatusEnum": "apps.domains.messaging.models.RecipientStatus",
        "MessageTypeEnum": "apps.domains.messaging.models.MessageType",
        "CreditKindEnum": "apps.domains.messaging.models.CreditKind",
        "ConsentKindEnum": "apps.domains.messaging.models.ConsentKind",
        "NoticeKindEnum": "apps.domains.messaging.models.NoticeKind",
        "UserRoleEnum": "apps.core.models.Role",
        "MessageHolderEnum": "apps.domains.messaging.models.ConsentHolder",
        "SendAudienceEnum": "apps.domains.messaging.models.SendAudience",
        "StudentResultDisplayEnum": "apps.domains.exams.models.StudentResultDisplay",
    },
    # The error shape, integer path id ranges and event-stream events, stated once (apps/core/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "apps.core.schema.document_errors"],
}

# ---------------------------------------------------------------------------
# Browsers on other origins (apps/core/cors.py, docs/frontend.md)
# ---------------------------------------------------------------------------
# Front-end origins (scheme://host[:port]) allowed to call the API; also the R2 buckets' CORS rule
# (scripts/configure_buckets.py).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# Regular expressions of further allowed origins (dev allows any localhost port when both are empty).
CORS_ALLOWED_ORIGIN_REGEXES = env.list("CORS_ALLOWED_ORIGIN_REGEXES", default=[])
CORS_URLS_REGEX = r"^/api/"
# JWTs travel in the Authorization header, never in a cookie: no credentialed requests.
CORS_ALLOW_CREDENTIALS = False
# If-None-Match: the job poll's ETag; Last-Event-ID: an EventSource reconnecting.
CORS_ALLOW_HEADERS = (*default_headers, "if-none-match", "last-event-id")
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "Content-Disposition", "Location"]
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=600)

# ---------------------------------------------------------------------------
# Internal callers (workers, Lambda)
# ---------------------------------------------------------------------------
# Stripped: a secret pasted with its newline still matches the header a caller sends. Empty rejects every call;
# dev.py makes both under DEV_SECRETS_DIR, prod.py requires them (checks.py).
INTERNAL_WORKER_TOKEN = env("INTERNAL_WORKER_TOKEN", default="").strip()
LAMBDA_INTERNAL_API_KEY = env("LAMBDA_INTERNAL_API_KEY", default="").strip()
# Host name the internal paths are answered under, whatever Host header a caller by IP sends.
INTERNAL_API_HOST = env("INTERNAL_API_HOST", default="internal.academy.invalid")

# ---------------------------------------------------------------------------
# Ports: object storage, queues, batch (ARCHITECTURE §3)
# ---------------------------------------------------------------------------
STORAGE_BACKEND = env("STORAGE_BACKEND", default="local")  # local | r2
LOCAL_STORAGE_DIR = env.path("LOCAL_STORAGE_DIR", default=str(BASE_DIR / "var" / "storage"))
R2_ENDPOINT_URL = env("R2_ENDPOINT_URL", default="")
R2_ACCESS_KEY_ID = env("R2_ACCESS_KEY_ID", default="")
R2_SECRET_ACCESS_KEY = env("R2_SECRET_ACCESS_KEY", default="")
R2_BUCKET_AI = env("R2_BUCKET_AI", default="academy-ai")
R2_BUCKET_VIDEO = env("R2_BUCKET_VIDEO", default="academy-video")
R2_BUCKET_EXCEL = env("R2_BUCKET_EXCEL", default="academy-excel")
R2_BUCKET_STORAGE = env("R2_BUCKET_STORAGE", default="academy-storage")
AWS_REGION = env("AWS_REGION", default="ap-northeast-2")

QUEUE_BACKEND = env("QUEUE_BACKEND", default="table")  # table | sqs
SQS_QUEUE_EXCEL = env("SQS_QUEUE_EXCEL", default="academy-excel-jobs")
SQS_QUEUE_MESSAGING = env("SQS_QUEUE_MESSAGING", default="academy-messaging-jobs")
SQS_QUEUE_AI_LITE = env("SQS_QUEUE_AI_LITE", default="academy-ai-jobs-lite")
SQS_QUEUE_AI_BASIC = env("SQS_QUEUE_AI_BASIC", default="academy-ai-jobs-basic")
SQS_QUEUE_AI_PREMIUM = env("SQS_QUEUE_AI_PREMIUM", default="academy-ai-jobs-premium")
SQS_WAIT_SECONDS = env.int("SQS_WAIT_SECONDS", default=20)
# Receives of one message before the redrive policy moves it to "<queue>-dlq": only messages that cannot be parsed,
# loaded or reported get there, since a worker deletes every message whose job's outcome it recorded.
SQS_MAX_RECEIVE_COUNT = env.int("SQS_MAX_RECEIVE_COUNT", default=5)

BATCH_BACKEND = env("BATCH_BACKEND", default="local")  # local | aws
BATCH_JOB_QUEUE = env("BATCH_JOB_QUEUE", default="academy-video-queue")
BATCH_JOB_DEFINITION = env("BATCH_JOB_DEFINITION", default="academy-video-transcode")

# Messaging provider: outbox (a table shown in the admin, the default) | solapi (docs/decisions/0015).
MESSAGING_PROVIDER = env("MESSAGING_PROVIDER", default="outbox")
SOLAPI_API_KEY = env("SOLAPI_API_KEY", default="").strip()
SOLAPI_API_SECRET = env("SOLAPI_API_SECRET", default="").strip()
SOLAPI_BASE_URL = env("SOLAPI_BASE_URL", default="https://api.solapi.com")
# Messages per provider call (Solapi takes at most 10,000).
MESSAGING_BATCH_SIZE = env.int("MESSAGING_BATCH_SIZE", default=10_000)
MESSAGING_HTTP_CONNECT_TIMEOUT_SECONDS = env.float("MESSAGING_HTTP_CONNECT_TIMEOUT_SECONDS", default=5.0)
MESSAGING_HTTP_TIMEOUT_SECONDS = env.float("MESSAGING_HTTP_TIMEOUT_SECONDS", default=60.0)
# Outbox only: seconds after which a taken message reports DELIVERED.
MESSAGING_OUTBOX_DELIVERY_SECONDS = env.int("MESSAGING_OUTBOX_DELIVERY_SECONDS", default=2)
# Won per message a new tenant's messaging profile starts with (each tenant may change its own).
MESSAGING_PRICE_SMS = env.str("MESSAGING_PRICE_SMS", default="20")
MESSAGING_PRICE_LMS = env.str("MESSAGING_PRICE_LMS", default="50")
MESSAGING_PRICE_ATA = env.str("MESSAGING_PRICE_ATA", default="15")
# Delivery reconciliation (apps/domains/messaging/reconcile.py): a SENDING row older than this (keep it above
# MESSAGING_HTTP_TIMEOUT_SECONDS) is asked about, as its worker may have died after the provider took it; what the
# provider still does not know after MESSAGING_NOT_FOUND_SECONDS is FAILED NOT_FOUND and its credit released.
MESSAGING_SENDING_STALE_SECONDS = env.int("MESSAGING_SENDING_STALE_SECONDS", default=120)
MESSAGING_NOT_FOUND_SECONDS = env.int("MESSAGING_NOT_FOUND_SECONDS", default=86_400)
# The path secret of Solapi's delivery-report webhook (/api/v1/messaging/webhooks/solapi/<secret>/); blank turns the
# webhook off (404) and the reconciler's polling alone settles deliveries. At least 32 characters in production.
MESSAGING_WEBHOOK_SECRET = env("MESSAGING_WEBHOOK_SECRET", default="").strip()
# Seconds an ABSENT/LATE mark waits before its parent is texted: a correction within it sends nothing.
MESSAGING_NOTICE_GRACE_SECONDS = env.int("MESSAGING_NOTICE_GRACE_SECONDS", default=600)

# ---------------------------------------------------------------------------
# Ports: local batch runner (BATCH_BACKEND=local)
# ---------------------------------------------------------------------------
# Comma-separated argv the job id is appended to; empty = "<this python> -m apps.worker.video.batch_main".
BATCH_LOCAL_COMMAND = env.list("BATCH_LOCAL_COMMAND", default=[])
BATCH_LOCAL_LOG_DIR = env.path("BATCH_LOCAL_LOG_DIR", default=str(BASE_DIR / "var" / "batch-logs"))

# ---------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------
WORKER_ID = env("WORKER_ID", default="")
EC2_IDLE_STOP_THRESHOLD = env.int("EC2_IDLE_STOP_THRESHOLD", default=0)  # 0 = never exit when idle
EC2_SELF_STOP = env.bool("EC2_SELF_STOP", default=False)

# An AI worker that polls the premium queue only (premium academies' jobs, docs/jobs.md "AI fleet"); a normal one
# polls basic and lite and never premium.
AI_WORKER_PREMIUM_ONLY = env.bool("AI_WORKER_PREMIUM_ONLY", default=False)

# The fleet table (ARCHITECTURE §5, apps/jobs/fleets.py), read by the runtime and scripts/create_sqs_resources.py:
# the queues each fleet consumes (highest priority first), each queue's own visibility timeout as created, the short
# window a worker holds a message by (extended every third of it), the queues its workers poll when not all
# (`poll_queues`), poll weights, one per polled queue (empty = strict priority order), and the idle exit (empty polls
# in a row).
WORKER_FLEETS = {
    "excel": {
        "queues": ["SQS_QUEUE_EXCEL"],
        "queue_visibility_seconds": env.int("EXCEL_QUEUE_VISIBILITY_SECONDS", default=300),
        "visibility_window_seconds": env.int("EXCEL_VISIBILITY_WINDOW_SECONDS", default=30),
        "poll_weights": [],
        "idle_stop_threshold": EC2_IDLE_STOP_THRESHOLD,
    },
    "messaging": {
        "queues": ["SQS_QUEUE_MESSAGING"],
        "queue_visibility_seconds": env.int("MESSAGING_QUEUE_VISIBILITY_SECONDS", default=300),
        "visibility_window_seconds": env.int("MESSAGING_VISIBILITY_WINDOW_SECONDS", default=30),
        "poll_weights": [],
        "idle_stop_threshold": EC2_IDLE_STOP_THRESHOLD,
    },
    "ai": {
        "queues": ["SQS_QUEUE_AI_PREMIUM", "SQS_QUEUE_AI_BASIC", "SQS_QUEUE_AI_LITE"],
        "queue_visibility_seconds": env.int("AI_QUEUE_VISIBILITY_SECONDS", default=3600),
        "visibility_window_seconds": env.int("AI_VISIBILITY_WINDOW_SECONDS", default=30),
        "poll_queues": (["SQS_QUEUE_AI_PREMIUM"] if AI_WORKER_PREMIUM_ONLY
                        else ["SQS_QUEUE_AI_BASIC", "SQS_QUEUE_AI_LITE"]),
        # basic,lite: of four polls, three ask basic first and one lite (each still asks the other when empty).
        "poll_weights": [] if AI_WORKER_PREMIUM_ONLY else env.list("AI_POLL_WEIGHTS", cast=int, default=[3, 1]),
        "idle_stop_threshold": EC2_IDLE_STOP_THRESHOLD,
    },
}

# ---------------------------------------------------------------------------
# Jobs (ARCHITECTURE §2) and the worker runtime (§5)
# ---------------------------------------------------------------------------
JOBS_DISPATCH_GRACE_SECONDS = env.int("JOBS_DISPATCH_GRACE_SECONDS", default=30)  # before the scanner re-sends
JOBS_SSE_POLL_SECONDS = env.float("JOBS_SSE_POLL_SECONDS", default=1.0)
JOBS_SSE_MAX_SECONDS = env.int("JOBS_SSE_MAX_SECONDS", default=55)
# Each open events stream holds a gunicorn thread: 0 (the default) keeps two threads of each worker for other requests.
JOBS_SSE_MAX_STREAMS_PER_PROCESS = env.int("JOBS_SSE_MAX_STREAMS_PER_PROCESS", default=0) or max(
    1, env.int("GUNICORN_THREADS", default=4) - 2
)
JOBS_EVENTS_TICKET_SECONDS = env.int("JOBS_EVENTS_TICKET_SECONDS", default=600)  # life of an events ticket
# Seconds between two passes of `run_scheduler` (due jobs, stale jobs, Batch reconcile, periodic tasks).
JOBS_SCHEDULER_INTERVAL_SECONDS = env.float("JOBS_SCHEDULER_INTERVAL_SECONDS", default=2.0)
WORKER_API_TIMEOUT_SECONDS = env.float("WORKER_API_TIMEOUT_SECONDS", default=10.0)
# The AI kinds' time limits (docs/jobs.md "AI fleet"): the worker stops a handler this long after its claim and ends
# the job FAILED INFERENCE_TIMEOUT, keeping what it saved; the scheduler ends one still RUNNING at the cap.
AI_JOB_LEASE_SECONDS = env.float("AI_JOB_LEASE_SECONDS", default=3540.0)
AI_INFERENCE_MAX_SECONDS = env.float("AI_INFERENCE_MAX_SECONDS", default=3600.0)

# ---------------------------------------------------------------------------
# AI uploads and OCR (ARCHITECTURE §4 AI)
# ---------------------------------------------------------------------------
AI_IMAGE_MAX_BYTES = env.int("AI_IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
# Width x height an uploaded image may declare (checked from its header before decoding: decompression bombs).
AI_IMAGE_MAX_PIXELS = env.int("AI_IMAGE_MAX_PIXELS", default=40_000_000)
AI_TESSERACT_CMD = env("AI_TESSERACT_CMD", default="tesseract")
# POST /api/v1/ai/ocr/ answers 503 OCR_UNAVAILABLE when this machine lacks Tesseract or its kor/eng data. Turn it off
# on an API host without Tesseract whose AI workers have it (a worker without it fails the attempt retryably).
AI_OCR_CHECK_LOCAL = env.bool("AI_OCR_CHECK_LOCAL", default=True)
WORKER_API_RETRIES = env.int("WORKER_API_RETRIES", default=4)

# ---------------------------------------------------------------------------
# Domain limits
# ---------------------------------------------------------------------------
DELETED_STUDENT_RETENTION_DAYS = env.int("DELETED_STUDENT_RETENTION_DAYS", default=30)
# Days a send's bodies and full phone numbers are kept (as the provider keeps its history); then the hourly
# mask_expired_messages task masks them (apps/domains/messaging/retention.py).
MESSAGING_RETENTION_DAYS = env.int("MESSAGING_RETENTION_DAYS", default=180)

# ---------------------------------------------------------------------------
# Exam scans (ARCHITECTURE §4 AI, exams): upload limits, render resolution, retention
# ---------------------------------------------------------------------------
EXAM_SCAN_MAX_FILES = env.int("EXAM_SCAN_MAX_FILES", default=50)
EXAM_SCAN_MAX_FILE_BYTES = env.int("EXAM_SCAN_MAX_FILE_BYTES", default=50 * 1024 * 1024)
EXAM_SCAN_MAX_TOTAL_BYTES = env.int("EXAM_SCAN_MAX_TOTAL_BYTES", default=200 * 1024 * 1024)
EXAM_SCAN_MAX_PAGES = env.int("EXAM_SCAN_MAX_PAGES", default=200)  # pages of one upload, over all its files
EXAM_SCAN_MAX_PIXELS = env.int("EXAM_SCAN_MAX_PIXELS", default=40_000_000)  # per image, or per PDF page as rendered
# PDF pages are rendered at this resolution: the grader reduces anything above 2.5 px/pt (180 dpi) anyway.
EXAM_SCAN_RENDER_DPI = env.int("EXAM_SCAN_RENDER_DPI", default=180)
# Scans and aligned page images are minors' handwriting: deleted this many days after upload (one school year).
EXAM_SCAN_RETENTION_DAYS = env.int("EXAM_SCAN_RETENTION_DAYS", default=365)

# ---------------------------------------------------------------------------
# Excel import and export (ARCHITECTURE §4 Excel enrollment)
# ---------------------------------------------------------------------------
EXCEL_MAX_UPLOAD_BYTES = env.int("EXCEL_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
# Zip-bomb guards: total inflated size of every part, and the inflate ratio of any part of 1 MB or more.
EXCEL_MAX_UNCOMPRESSED_BYTES = env.int("EXCEL_MAX_UNCOMPRESSED_BYTES", default=200 * 1024 * 1024)
EXCEL_MAX_COMPRESSION_RATIO = env.int("EXCEL_MAX_COMPRESSION_RATIO", default=200)
# Rows x columns a reader may allocate for one sheet (last row holding a value x widest column).
EXCEL_MAX_SHEET_CELLS = env.int("EXCEL_MAX_SHEET_CELLS", default=5_000_000)
EXCEL_IMPORT_BATCH_SIZE = env.int("EXCEL_IMPORT_BATCH_SIZE", default=1000)
# Excel imports (and, apart, exports) of one academy running or sent at once; more wait QUEUED (fair share). Keep it
# at or under the excel fleet's worker count so another academy's job waits at most one job's duration.
EXCEL_MAX_RUNNING_PER_TENANT = env.int("EXCEL_MAX_RUNNING_PER_TENANT", default=2)

# ---------------------------------------------------------------------------
# Excel jobs: export downloads (ARCHITECTURE §4 Excel export)
# ---------------------------------------------------------------------------
# Lifetime of the download URL a DONE export's status body carries (a fresh one on every poll).
EXCEL_EXPORT_URL_SECONDS = env.int("EXCEL_EXPORT_URL_SECONDS", default=300)
# purge_expired_exports deletes exports older than this (the R2 lifecycle rule in docs/excel.md does the same).
EXCEL_EXPORT_RETENTION_HOURS = env.int("EXCEL_EXPORT_RETENTION_HOURS", default=24)

# ---------------------------------------------------------------------------
# Video pipeline (ARCHITECTURE §4 Video): limits, HLS ladder, Batch worker
# ---------------------------------------------------------------------------
VIDEO_MAX_UPLOAD_BYTES = env.int("VIDEO_MAX_UPLOAD_BYTES", default=20 * 1024**3)
VIDEO_MAX_DURATION_SECONDS = env.int("VIDEO_MAX_DURATION_SECONDS", default=4 * 3600)
VIDEO_MAX_DIMENSION = env.int("VIDEO_MAX_DIMENSION", default=4096)  # longest side of the displayed picture
VIDEO_RENDITIONS = env.list("VIDEO_RENDITIONS", cast=int, default=[1080, 720, 480, 360])
VIDEO_SEGMENT_SECONDS = env.int("VIDEO_SEGMENT_SECONDS", default=6)
VIDEO_MAX_FPS = env.int("VIDEO_MAX_FPS", default=30)
VIDEO_WORKER_TEMP_DIR = env("VIDEO_WORKER_TEMP_DIR", default=str(BASE_DIR / "var" / "video-work"))
VIDEO_DISK_FACTOR = env.float("VIDEO_DISK_FACTOR", default=3.0)
VIDEO_TRANSCODE_TIMEOUT_SECONDS = env.int("VIDEO_TRANSCODE_TIMEOUT_SECONDS", default=14400)
VIDEO_PROBE_TIMEOUT_SECONDS = env.int("VIDEO_PROBE_TIMEOUT_SECONDS", default=60)
VIDEO_X264_PRESET = env("VIDEO_X264_PRESET", default="veryfast")
# A running transcode whose heartbeat is older than this is re-submitted (or DEAD after VIDEO_MAX_ATTEMPTS).
VIDEO_HEARTBEAT_TIMEOUT_SECONDS = env.int("VIDEO_HEARTBEAT_TIMEOUT_SECONDS", default=300)
VIDEO_MAX_ATTEMPTS = env.int("VIDEO_MAX_ATTEMPTS", default=3)

# ---------------------------------------------------------------------------
# Video upload, transcode limits and playback (ARCHITECTURE §4 Video)
# ---------------------------------------------------------------------------
# Declared sizes above this get a multipart upload with one presigned URL per part; smaller ones a single PUT.
VIDEO_MULTIPART_THRESHOLD_BYTES = env.int("VIDEO_MULTIPART_THRESHOLD_BYTES", default=64 * 1024**2)
VIDEO_PART_SIZE_BYTES = env.int("VIDEO_PART_SIZE_BYTES", default=64 * 1024**2)  # S3/R2: 5 MiB at least
VIDEO_UPLOAD_URL_EXPIRES_SECONDS = env.int("VIDEO_UPLOAD_URL_EXPIRES_SECONDS", default=3600)
# Transcodes holding a Batch job (RUNNING, or QUEUED with a Batch id); the surplus waits QUEUED for the scanner.
VIDEO_MAX_RUNNING_PER_TENANT = env.int("VIDEO_MAX_RUNNING_PER_TENANT", default=2)
VIDEO_MAX_RUNNING_GLOBAL = env.int("VIDEO_MAX_RUNNING_GLOBAL", default=20)
# Life of a playback token and of the segment URLs in the playlists it opens (covers a 3 h lecture with pauses).
VIDEO_PLAYBACK_URL_EXPIRES_SECONDS = env.int("VIDEO_PLAYBACK_URL_EXPIRES_SECONDS", default=4 * 3600)
# Watch progress is kept while the enrollment is ACTIVE and this many days after it ends (docs/decisions/0025).
VIDEO_PROGRESS_RETENTION_DAYS = env.int("VIDEO_PROGRESS_RETENTION_DAYS", default=365)

# ---------------------------------------------------------------------------
# Video Batch entrypoint and operators (ARCHITECTURE §4 Video)
# ---------------------------------------------------------------------------
# Least seconds between two progress reports of a transcode (the heartbeat thread beats in between).
VIDEO_PROGRESS_REPORT_SECONDS = env.float("VIDEO_PROGRESS_REPORT_SECONDS", default=2.0)
# CloudWatch log group the Batch job definition writes to (validate_batch_video_system LOG_CHECK).
VIDEO_BATCH_LOG_GROUP = env("VIDEO_BATCH_LOG_GROUP", default="/aws/batch/academy-video")
# IAM role names of the Batch job (the container's own AWS calls) and of its execution (image pull, logs).
VIDEO_BATCH_JOB_ROLE_NAME = env("VIDEO_BATCH_JOB_ROLE_NAME", default="academy-video-batch-job-role")
VIDEO_BATCH_EXECUTION_ROLE_NAME = env("VIDEO_BATCH_EXECUTION_ROLE_NAME",
                                      default="academy-video-batch-execution-role")

# ---------------------------------------------------------------------------
# Logging: one JSON object per line
# ---------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "apps.core.logging.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# ---------------------------------------------------------------------------
# Error tracking (Sentry): off unless SENTRY_DSN is set; events leave without personal data
# ---------------------------------------------------------------------------
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
# Initialised here, so the API, every worker fleet and the video Batch entrypoint report alike.
init_error_tracking(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=APP_VERSION)
