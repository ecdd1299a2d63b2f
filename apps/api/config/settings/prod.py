"""Production API: the shared production overrides, refused at start unless safe for serving the API."""

from . import checks
from .deployed import *  # noqa: F403

checks.refuse_unsafe_start(globals(), profile=checks.API)
