"""A scan killed with SIGKILL leaves a journal; ``ragward cleanup`` restores the lab corpus exactly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ragward.lab.target import LabTarget

pytestmark = pytest.mark.slow


def corpus_state(profile: str, data_dir: Path) -> dict[str, str]:
    async def read() -> dict[str, str]:
        target = LabTarget(profile, data_dir)
        try:
            return await target.corpus_state()
        finally:
            await target.close()

    return asyncio.run(read())


def pending(journal_dir: Path) -> int:
    added: set[str] = set()
    for path in journal_dir.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            (added.add if rec["op"] == "add" else added.discard)(rec["doc_id"])
    return len(added)


def wait_for_planted(proc: subprocess.Popen[Any], journal_dir: Path, *, settle_s: float) -> None:
    """Wait until the running scan has journaled 3 planted documents, then ``settle_s`` more seconds."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if journal_dir.exists() and pending(journal_dir) >= 3:
            time.sleep(settle_s)
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the scan ended before it could be stopped"


def test_sigkill_then_cleanup_restores_the_corpus(tmp_path: Path) -> None:
    data_dir = tmp_path / "lab"
    target_file = tmp_path / "target.yaml"
    target_file.write_text(f"kind: lab\nprofile: vulnerable\ndata_dir: {data_dir}\n")
    env = {**os.environ, "RAGWARD_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    before = corpus_state("vulnerable", data_dir)
    assert len(before) >= 60

    cmd = [sys.executable, "-m", "ragward", "scan", "--target", str(target_file), "--format", "json"]
    proc = subprocess.Popen([*cmd, "--concurrency", "4"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal_dir = tmp_path / "home" / "journals"
    try:
        wait_for_planted(proc, journal_dir, settle_s=3)  # let the target store what the journal announced
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    left = pending(journal_dir)
    assert left >= 3  # the killed scan left planted documents behind, and the journal knows them
    assert set(corpus_state("vulnerable", data_dir)) - set(before)  # they really are in the corpus

    done = subprocess.run(
        [sys.executable, "-m", "ragward", "cleanup", "--target", str(target_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"removed {left} leftover" in done.stdout
    assert corpus_state("vulnerable", data_dir) == before
    assert pending(journal_dir) == 0


def test_ctrl_c_removes_the_planted_documents_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "lab"
    target_file = tmp_path / "target.yaml"
    target_file.write_text(f"kind: lab\nprofile: vulnerable\ndata_dir: {data_dir}\n")
    env = {**os.environ, "RAGWARD_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    before = corpus_state("vulnerable", data_dir)
    cmd = [sys.executable, "-m", "ragward", "scan", "--target", str(target_file), "--concurrency", "4"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    journal_dir = tmp_path / "home" / "journals"
    try:
        wait_for_planted(proc, journal_dir, settle_s=2)
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted; a scan removes what it planted before it exits" in stderr
    assert "Traceback" not in stderr
    assert corpus_state("vulnerable", data_dir) == before
    assert pending(journal_dir) == 0
    # no journal and no live-run lock left behind (the journal's own append lock file may stay, empty)
    assert [p.name for p in journal_dir.iterdir() if p.suffix in (".jsonl", ".live")] == []
