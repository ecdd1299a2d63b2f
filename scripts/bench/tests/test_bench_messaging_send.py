"""scripts/bench/messaging_send.py stays runnable: it parses its arguments, seeds what a send needs, and reports
against its targets. The measurement itself is run by hand (its docstring says how)."""

import importlib.util
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "messaging_send.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_messaging_send", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_parses_its_arguments():
    answer = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)

    assert answer.returncode == 0, answer.stderr
    assert "--recipients" in answer.stdout
    assert "--e2e-runs" in answer.stdout


def test_the_seeded_academy_can_send_to_every_parent(db):
    from apps.domains.enrollment.models import Enrollment
    from apps.domains.messaging.models import MessagingProfile
    from apps.domains.messaging.selectors import credit_balance

    bench = load_bench()

    scope = bench.seed_academy("test", 5)

    enrolled = Enrollment.objects.filter(lecture_id=scope["lecture_id"]).select_related("student")
    phones = {e.student.parent_phone for e in enrolled}
    assert len(phones) == 5
    assert all(p.startswith("010") and len(p) == 11 for p in phones)
    profile = MessagingProfile.objects.get(tenant_id=scope["tenant_id"])
    assert profile.sender_verified and profile.sender_number == bench.SENDER
    assert credit_balance(tenant=profile.tenant) == Decimal(600)
    assert bench.send_body(scope["lecture_id"]) == {"lecture_id": scope["lecture_id"], "to": "parent",
                                                    "mode": "sms", "body": bench.BODY}


def test_the_report_checks_each_target(capsys):
    bench = load_bench()
    row = {"post_s": 1.0, "post_queries": 30, "worker_s": 2.0, "worker_queries": 40, "worker_queries_per_1000": 4.0,
           "worker_queries_per_batch": 40.0, "requests": 1, "requests_per_1000": 0.1}
    batched = {**row, "worker_queries": 130, "requests": 10, "requests_per_1000": 1.0}
    context = {"recipients": 10_000, "bare_s": 0.5, "queries": {(10_000, 10_000): row, (10_000, 1000): batched},
               "e2e": {"e2e_post_s": 1.5, "e2e_s": 9.0, "e2e_worker_s": 6.0, "e2e_requests": 1,
                       "e2e_worker_rss_mb": 120.0, "e2e_warm_rss_mb": 90.0}}

    bench.report(context)

    printed = capsys.readouterr().out
    assert "FAIL POST -> DONE s: 9.00 (target <= 8)" in printed
    assert "PASS worker peak RSS MB: 120.00 (target <= 150)" in printed
    assert "PASS worker SQL per 1,000 recipients: 4.00 (target <= 10)" in printed
    assert "18.0x the bare bulk_create" in printed
    assert "worker SQL: 40 for one batch of 10,000, 10.0 per further batch" in printed
    assert "worker peak RSS 120 MB (90 MB after a one-recipient send)" in printed
    assert "load average" in printed
