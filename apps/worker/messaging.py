"""ARCHITECTURE §5: the messaging fleet entrypoint (`python -m apps.worker.messaging`)."""

from apps.worker.main import run

if __name__ == "__main__":
    run("messaging")
