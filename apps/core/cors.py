"""Browsers on other origins (django-cors-headers): the API answers the front end's origins (settings
CORS_ALLOWED_ORIGINS / CORS_ALLOWED_ORIGIN_REGEXES); signed URLs answer any origin.

A playlist or local-storage URL carries its own signature and no cookie or Authorization header is involved, exactly
like an R2 presigned URL, so whichever page holds the URL may use it. `check_request_enabled` is the library's
documented hook for such per-request decisions.
"""

import re

from corsheaders.signals import check_request_enabled

SIGNED_URL_PATHS = re.compile(r"^/api/v1/(?:storage/local/|videos/\d+/hls/)")


def allow_signed_urls(sender, request, **kwargs) -> bool:
    return SIGNED_URL_PATHS.match(request.path) is not None


def connect() -> None:
    check_request_enabled.connect(allow_signed_urls, dispatch_uid="academy-cors-signed-urls")
