"""`slabridge check-config`: exit 0 and a summary for a good file; exit 2 and one
`FILE: path (line N): problem` line per problem on stderr for a bad one. A few runs go through
a real process (the console script and `python -m bridge.cli`); the rest call main()."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import EXIT_BAD_CONFIG, main
from tests.bridge.test_config import CASES, FIXTURES, Case
from tests.conftest import EXAMPLE_CONFIG, REPO

SCRIPT = Path(sys.executable).parent / "slabridge"


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SLABRIDGE_")}


@pytest.fixture(autouse=True)
def _no_slabridge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SLABRIDGE_"):
            monkeypatch.delenv(name)


def test_check_config_accepts_the_example(capsys) -> None:
    code, out, err = run_main(["check-config", "--config", str(EXAMPLE_CONFIG)], capsys)
    assert (code, err) == (0, "")
    assert out == (
        f"{EXAMPLE_CONFIG}: OK — 3 customers, 4 devices, 5 webhook sources, 6 API tokens\n"
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_config_reports_each_problem(case: Case, tmp_path: Path, capsys) -> None:
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text(), encoding="utf-8")
    code, out, err = run_main(["check-config", "--config", str(path)], capsys)
    assert code == EXIT_BAD_CONFIG
    assert out == ""
    assert err.splitlines() == case.lines(str(path))


def test_check_config_reports_several_problems_one_line_each(capsys) -> None:
    path = FIXTURES / "unknown-policy.yaml"
    code, _, err = run_main(["check-config", "--config", str(path)], capsys)
    assert code == EXIT_BAD_CONFIG
    assert err == (
        f"{path}: customers[2].sla_policy (line 16): unknown SLA policy 'platinum' "
        "(known: basic)\n"
    )


def test_check_config_on_a_missing_file(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "absent.yaml"
    code, out, err = run_main(["check-config", "--config", str(missing)], capsys)
    assert (code, out, err) == (EXIT_BAD_CONFIG, "", f"{missing}: no such file\n")


def test_serve_refuses_a_bad_config_before_opening_the_store(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    code, _, err = run_main(
        [
            "serve",
            "--config",
            str(FIXTURES / "bad-yaml.yaml"),
            "--data-dir",
            str(data),
        ],
        capsys,
    )
    assert code == EXIT_BAD_CONFIG
    assert err.endswith("not valid YAML: expected ',' or ']', but got ':'\n")
    assert not data.exists()


def test_a_command_is_required(capsys) -> None:
    code, _, err = run_main([], capsys)
    assert code == 2
    assert "the following arguments are required: command" in err


# Real processes ---------------------------------------------------------------------------


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, cwd=REPO, env=_env(), timeout=60, check=False
    )


def test_the_console_script_checks_a_good_file() -> None:
    proc = _run([str(SCRIPT), "check-config", "--config", "config/example.yaml"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("config/example.yaml: OK — 3 customers")


def test_the_console_script_reports_bad_yaml_with_its_line() -> None:
    proc = _run([str(SCRIPT), "check-config", "--config", "tests/fixtures/config/bad-yaml.yaml"])
    assert proc.returncode == EXIT_BAD_CONFIG
    assert proc.stdout == ""
    assert proc.stderr == (
        "tests/fixtures/config/bad-yaml.yaml: line 6: "
        "not valid YAML: expected ',' or ']', but got ':'\n"
    )


def test_python_m_bridge_cli_reports_every_problem() -> None:
    path = "tests/fixtures/config/several-problems.yaml"
    proc = _run([sys.executable, "-m", "bridge.cli", "check-config", "--config", path])
    assert proc.returncode == EXIT_BAD_CONFIG
    assert proc.stderr.splitlines() == [
        f"{path}: service.body_limt (line 3): unknown key",
        f"{path}: calendars.office.timezone (line 6): unknown time zone 'Mars/Olympus_Mons'",
        f"{path}: sla_policies.basic.priorities.P1.reaction (line 10): "
        "'soon' is not a duration such as 30s, 15m, 4h or 1d",
    ]
