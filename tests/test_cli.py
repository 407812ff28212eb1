"""The CLI as a user meets it: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def ragward(
    *args: str, home: Path, timeout: int = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGWARD_HOME": str(home), "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ragward", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]


def test_tests_list_json_is_the_catalogue(tmp_path: Path) -> None:
    proc = ragward("tests", "list", "--format", "json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    ids = [r["id"] for r in rows]
    assert {"RW-CAN-001", "RW-ISO-001", "RW-INJ-001"} <= set(ids)
    assert all(r["owasp"] and r["atlas"] and r["mitigation"] for r in rows)


def test_tests_list_quick_profile_is_smaller(tmp_path: Path) -> None:
    every = json.loads(ragward("tests", "list", "--format", "json", home=tmp_path).stdout)
    quick = json.loads(ragward("tests", "list", "--profile", "quick", "--format", "json", home=tmp_path).stdout)
    assert 0 < len(quick) < len(every)


def test_tests_list_table_renders(tmp_path: Path) -> None:
    proc = ragward("tests", "list", home=tmp_path)
    assert proc.returncode == 0
    assert "RW-ISO-017" in proc.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "cannot read target file"),
        ("kind: [unclosed", "is not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("kind: pinecone\n", "invalid target configuration"),
        ("kind: lab\nprofile: weak\n", "invalid target configuration: profile"),
        ("kind: lab\nsurprise: 1\n", "surprise"),
    ],
)
def test_bad_target_files_give_one_line_errors(tmp_path: Path, content: str | None, needle: str) -> None:
    path = tmp_path / "target.yaml"
    if content is not None:
        path.write_text(content)
    assert_one_line_error(ragward("scan", "--target", str(path), home=tmp_path), needle)
    assert_one_line_error(ragward("cleanup", "--target", str(path), home=tmp_path), needle)


def test_unknown_test_profile_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "target.yaml"
    path.write_text("kind: lab\nprofile: hardened\n")
    assert_one_line_error(
        ragward("scan", "--target", str(path), "--profile", "nope", home=tmp_path), "unknown test profile"
    )


def test_bad_option_values_exit_2(tmp_path: Path) -> None:
    proc = ragward("scan", "--target", "x.yaml", "--fail-on", "urgent", home=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    proc = ragward("demo", "--concurrency", "0", home=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_an_unreachable_target_fails_the_scan_with_exit_3(tmp_path: Path) -> None:
    target = tmp_path / "closed.yaml"
    example = Path(__file__).resolve().parents[1] / "examples" / "targets" / "lab-http.yaml"
    target.write_text(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:1", example.read_text()))
    env = {f"RAGWARD_LAB_TOKEN_{t}": f"token-{t.lower()}-0000" for t in ("ACME", "GLOBEX", "INITECH")}
    proc = ragward("scan", "--target", str(target), "--profile", "quick", "--fail-on", "info", home=tmp_path, env=env)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "no test could run" in proc.stderr
    assert "connection failed" in proc.stderr


def test_an_unusable_output_path_is_refused_before_scanning(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text("kind: lab\nprofile: hardened\n")
    proc = ragward(
        "scan", "--target", str(target), "--format", "json", "--output", str(target / "x.json"), home=tmp_path
    )
    assert_one_line_error(proc, "is a file, not a folder")
    proc = ragward("scan", "--target", str(target), "--format", "json", "--output", str(tmp_path), home=tmp_path)
    assert_one_line_error(proc, "is a folder")


def test_the_cli_passes_its_seed_to_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`demo` (seeded by default) and `scan --seed` must give the same run twice: same id, canaries, markers."""
    from ragward.cli import _scan_all
    from ragward.targets.mock import MockTarget

    monkeypatch.setenv("RAGWARD_HOME", str(tmp_path))

    def fresh() -> MockTarget:
        target = MockTarget()
        target.key = "mock-one-deployment"  # the same target each time (its key names the journal)
        return target

    runs = [_scan_all([("mock", fresh)], test_profile="default", concurrency=1, seed=seed)[0] for seed in (5, 5, None)]
    evidence = [json.dumps([t.evidence for t in run.tests], sort_keys=True) for run in runs]
    assert runs[0].id == runs[1].id != runs[2].id
    assert evidence[0] == evidence[1] != evidence[2]


def test_a_scan_that_skipped_most_tests_warns_that_it_tested_little(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ragward.cli import _exit_code, _scan_all
    from ragward.model import Severity
    from ragward.targets.base import Capability
    from ragward.targets.mock import MockTarget

    monkeypatch.setenv("RAGWARD_HOME", str(tmp_path))
    retrieval_only = frozenset(Capability) - {Capability.ANSWER, Capability.STREAM}
    full = _scan_all([("full", MockTarget)], test_profile="default", concurrency=4, seed=None)
    capsys.readouterr()
    assert _exit_code(full, Severity.HIGH) == 0
    assert "warning" not in capsys.readouterr().err
    little = _scan_all(
        [("little", lambda: MockTarget(capabilities=retrieval_only))], test_profile="default", concurrency=4, seed=None
    )
    capsys.readouterr()
    assert _exit_code(little, Severity.HIGH) == 0  # the exit code is unchanged: a warning, not a failure
    err = capsys.readouterr().err
    assert f"warning: little: {little[0].tests_skipped} of {little[0].tests_run} tests were skipped" in err
    assert "missing capability" in err or "answer" in err
