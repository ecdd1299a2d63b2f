"""ARCHITECTURE §5: the ai fleet entrypoint (`python -m apps.worker.ai`)."""

from apps.worker.main import run

if __name__ == "__main__":
    run("ai")
