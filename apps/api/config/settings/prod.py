"""Production API: the base settings with the checks that refuse an unsafe start."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env
from .checks import production_problems

DEBUG = env.bool("DEBUG", default=False)
# The loopback default of base.py suits development only: production names its hosts or refuses to start.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

_problems = production_problems(globals())
if _problems:
    raise ImproperlyConfigured("프로덕션 설정 오류 (production settings refused): " + "; ".join(_problems))
