#!/usr/bin/env bash
# Packages the queue-depth Lambda: handler.py alone (boto3 and urllib come with the python3.12 runtime).
# Usage: infra/lambda/queue_depth/package.sh [out.zip]   (default: var/queue-depth-lambda.zip). Prints the zip's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-var/queue-depth-lambda.zip}"
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
rm -f "$out"
python3 - "$here/handler.py" "$out" <<'PY'
import sys, zipfile
source, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
    # A fixed date and mode: the same handler gives the same zip, so an unchanged function is not redeployed.
    info = zipfile.ZipInfo("handler.py", date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(source, "rb") as handle:
        archive.writestr(info, handle.read())
PY
echo "$out"
