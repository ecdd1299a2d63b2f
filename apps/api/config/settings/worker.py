"""Worker processes (SQS fleets and the Batch video entrypoint): production checks, no admin UI needed."""

from .prod import *  # noqa: F403
