"""Production overrides shared by the API (prod.py) and the workers (worker.py).

Not a settings module by itself: each of those two adds the start-up checks of its profile (checks.py).
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=False)
# The loopback default of base.py suits development only: production names its hosts or the API refuses to start.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

# HTTPS ends at the load balancer, which sets X-Forwarded-Proto (and overwrites any value a client sends).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain HTTP is redirected, except SECURE_REDIRECT_EXEMPT (base.py): /health and the internal paths.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# One year: the API host answers HTTPS only anyway. Set a few minutes for a first rollout on a new domain if unsure.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Browsers accept __Secure- cookies only over HTTPS with the Secure flag, so no plain-HTTP page can set them.
SESSION_COOKIE_NAME = "__Secure-sessionid"
CSRF_COOKIE_NAME = "__Secure-csrftoken"
# W021 asks for SECURE_HSTS_PRELOAD, left off on purpose (base.py): `check --deploy` stays clean without hiding more.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
