"""scripts/deps_audit.py (`make deps-audit`): pip-audit where a vulnerability service answers, a clear notice and
exit 0 where none does (this machine reaches a package mirror only)."""

import importlib.util
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def script(monkeypatch):
    spec = importlib.util.spec_from_file_location("deps_audit", ROOT / "scripts" / "deps_audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "pip_audit", types.ModuleType("pip_audit"))
    return module


def test_no_service_answering_is_a_notice_and_exit_0(script, monkeypatch, capsys):
    answers = {script.PYPI_PROBE: "answered HTTP 404", script.OSV_PROBE: "unreachable (URLError)"}
    monkeypatch.setattr(script, "_answers_json", lambda request: answers[request.full_url])
    monkeypatch.setattr(script.subprocess, "run", lambda *a, **k: pytest.fail("pip-audit must not run"))

    assert script.main([]) == 0
    assert capsys.readouterr().out == (
        "deps-audit: no vulnerability service answers here (PyPI JSON API answered HTTP 404; OSV unreachable "
        "(URLError)): nothing was audited. Run `make deps-audit` where pypi.org or api.osv.dev is reachable.\n")


@pytest.mark.parametrize(("pypi", "osv", "service"), [("", "", "pypi"), ("answered HTTP 404", "", "osv")])
def test_the_first_service_that_answers_is_asked_and_its_verdict_is_the_exit_code(script, monkeypatch, pypi, osv,
                                                                                  service):
    answers = {script.PYPI_PROBE: pypi, script.OSV_PROBE: osv}
    monkeypatch.setattr(script, "_answers_json", lambda request: answers[request.full_url])
    ran = []
    monkeypatch.setattr(script.subprocess, "run",
                        lambda command, cwd: ran.append(command) or types.SimpleNamespace(returncode=1))

    assert script.main(["requirements/api.txt"]) == 1
    assert ran == [[sys.executable, "-m", "pip_audit", "--vulnerability-service", service, "--require-hashes",
                    "--disable-pip", "--progress-spinner", "off", "-r", "requirements/api.txt"]]


def test_without_pip_audit_it_says_how_to_install_it(script, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pip_audit", None)

    assert script.main([]) == 1
    assert "pip-audit is not installed" in capsys.readouterr().err
