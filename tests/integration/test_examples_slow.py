"""Every example target file of docs/targets.md, built by build_target and scanned against the real library.

The examples use the lab's embedding model (all-MiniLM-L6-v2) as written; only
paths and ports are pointed at temporary folders and loopback servers.
Chroma runs both embedded and as a ``chroma run`` server started here.
(lab-http.yaml: test_lab_http_slow.py; openai-chroma.yaml: test_openai_llamacpp.py;
pgvector.yaml: test_pgvector.py.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tgt_helpers import failed, free_port, scan, start_process, stop_process, wait_http

from ragward.targets.config import build_target, parse_target_config

pytestmark = [pytest.mark.slow, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "targets"
PROBES = [
    "RW-CAN-001",
    "RW-CAN-007",
    "RW-ISO-001",
    "RW-ISO-003",
    "RW-ISO-004",
    "RW-ISO-011",
    "RW-ISO-014",
    "RW-ISO-016",
]


def example(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    data.update(changes)
    return data


def _scan_example(data: dict[str, Any], journal: Path) -> None:
    run = scan(build_target(parse_target_config(data)), journal, only=PROBES)
    assert run.error is None
    outcomes = {t.id: t.outcome.value for t in run.tests}
    assert outcomes["RW-CAN-001"] == "passed", run.tests
    assert outcomes["RW-CAN-007"] == "passed"
    assert failed(run) == set(), [f.evidence for f in run.findings]
    for t in run.tests:  # a skip is only ever a missing mode of that framework, never an error
        assert t.outcome.value != "skipped" or "no retrieval mode" in (t.reason or ""), t.reason


@pytest.mark.parametrize(
    ("name", "where"),
    [("chroma.yaml", "path"), ("qdrant.yaml", "path"), ("lancedb.yaml", "uri")],
)
def test_store_examples(name: str, where: str, tmp_path: Path, journal: Path) -> None:
    _scan_example(example(name, **{where: str(tmp_path / "store")}), journal)


@pytest.mark.parametrize("name", ["langchain.yaml", "llamaindex.yaml"])
def test_framework_examples(name: str, journal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the factory paths are relative to the working directory
    _scan_example(example(name), journal)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("chroma") or str(Path(os.sys.executable).parent / "chroma")
    port = free_port()
    log = tmp_path / "chroma.log"
    proc = start_process(
        [binary, "run", "--path", str(tmp_path / "chroma-data"), "--host", "127.0.0.1", "--port", str(port)],
        log,
        dict(os.environ, ANONYMIZED_TELEMETRY="False"),
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, timeout=60, log=log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def test_chroma_server_example(chroma_server: str, journal: Path) -> None:
    _scan_example(example("chroma-server.yaml", url=chroma_server), journal)


def test_lab_example_parses() -> None:
    config = parse_target_config(example("lab.yaml"))
    assert config.label == "lab:hardened"
