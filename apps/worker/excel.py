"""ARCHITECTURE §5: the excel fleet entrypoint (`python -m apps.worker.excel`)."""

from apps.worker.main import run

if __name__ == "__main__":
    run("excel")
