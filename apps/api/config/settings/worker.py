"""Worker processes (SQS fleets and the video Batch entrypoint): the production settings, checked for a worker.

Workers need INTERNAL_WORKER_TOKEN, not the scaling Lambda's key, which only the API checks (checks.py).
"""

from . import checks
from .deployed import *  # noqa: F403

checks.refuse_unsafe_start(globals(), profile=checks.WORKER)
