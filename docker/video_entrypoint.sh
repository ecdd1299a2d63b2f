#!/usr/bin/env bash
# One video transcode, the AWS Batch job's command: ./video_entrypoint.sh <job_id>
# (the job id may come from VIDEO_JOB_ID instead; exit codes in apps/worker/video/batch_main.py).
set -euo pipefail
exec python -m apps.worker.video.batch_main "$@"
