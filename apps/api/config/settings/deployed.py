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
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
