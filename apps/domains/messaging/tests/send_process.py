"""Test-only: runs message_send in real processes that stop dead at a chosen point, for the test to SIGKILL there.

One parent sets Django up once and reads commands from stdin, one JSON line each; it forks a child per command (so
twenty runs cost one start-up) and answers with the child's exit status once it ended. The parent never touches the
database, so each child opens its own connection. A command names the job, the batch (0-based) and the point:

  claimed     the batch is taken (SENDING), the provider not yet called
  in_flight   the provider has the batch and holds its answer (the test made the fake hang, then says "go")
  answered    the provider accepted the batch; nothing of it recorded
  recording   inside the recording transaction, the rows' UPDATE done, not committed
  recorded    the batch recorded and committed, the next not yet taken

At that point the child writes its pid to `marker` and waits forever.
"""

import json
import os
import sys
import threading
from pathlib import Path


def _stop_here(marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    threading.Event().wait()


def _wait_for(path: str) -> None:
    pause = threading.Event()
    while not Path(path).exists():
        pause.wait(0.01)


def _child(command: dict) -> None:
    from apps.domains.messaging import delivery, handlers
    from apps.domains.messaging.tests.sending_support import StubContext
    from apps.integrations.messaging import get_message_provider
    from apps.jobs.models import Job

    stage, target, marker = command["stage"], command["batch"], command["marker"]
    sends = {"n": 0}
    records = {"n": 0}
    provider = get_message_provider()
    real_send_many = provider.send_many

    def send_many(messages):
        index = sends["n"]
        sends["n"] += 1
        if index == target and stage == "claimed":
            _stop_here(marker)
        if index == target and stage == "in_flight":
            Path(marker + ".ready").write_text(str(os.getpid()))
            _wait_for(marker + ".go")
            Path(marker).write_text(str(os.getpid()))
        outcomes = real_send_many(messages)
        if index == target and stage == "answered":
            _stop_here(marker)
        return outcomes

    provider.send_many = send_many
    real_ledger_write = delivery.ledger_write

    def ledger_write(*, tenant_id, movements, memo=""):
        if any(m.kind == "CHARGE" for m in movements):  # a batch's record (the claim's writes charge nothing)
            index = records["n"]
            records["n"] += 1
            if index == target and stage == "recording":
                _stop_here(marker)
        return real_ledger_write(tenant_id=tenant_id, movements=movements, memo=memo)

    delivery.ledger_write = ledger_write
    real_send_batch = handlers._Sender.send_batch

    def send_batch(self, rows):
        real_send_batch(self, rows)
        if sends["n"] - 1 == target and stage == "recorded":
            _stop_here(marker)

    handlers._Sender.send_batch = send_batch
    job = Job.objects.get(id=command["job_id"])
    handlers.message_send(job, StubContext())


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.api.config.settings.test")
    import django

    django.setup()
    # Imported before forking, so each child starts at once.
    import apps.domains.messaging.handlers
    import apps.domains.messaging.tests.sending_support  # noqa: F401

    for line in sys.stdin:
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(command)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
                          "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
