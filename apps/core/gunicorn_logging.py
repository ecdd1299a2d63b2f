"""gunicorn's access log as one JSON object per line, URL credentials masked (docker/api_entrypoint.sh).

gunicorn writes the request line itself, outside Django's logging, so an events ticket in a query string or a
playback token in a playlist path would reach the logs whole without this class.
"""

import json
import traceback
from datetime import UTC, datetime

from gunicorn.glogging import Logger

from apps.core.logging import mask_text


class JsonAccessLogger(Logger):
    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        query = environ.get("QUERY_STRING", "")
        line = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "event": "request",
            "method": environ.get("REQUEST_METHOD", ""),
            "path": mask_text(environ.get("PATH_INFO", "") + (f"?{query}" if query else "")),
            "status": getattr(resp, "status_code", None),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:
            self.error(traceback.format_exc())
