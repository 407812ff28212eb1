"""`ragward lab serve` with the real models, scanned over HTTP: same outcomes as the in-process scan.

The server runs in its own process (``lab_app serve``), loads all-MiniLM-L6-v2
and SmolLM2 like the in-process lab does, and is scanned with the ``quick``
test profile through examples/targets/lab-http.yaml, plus the deep profile's PDF
tests (PDF files through ``{content_base64}``; all five against ``hardened``,
where the ingest scanner stops them before the model, and one hidden-text PDF
and the malformed PDF against ``vulnerable``, to keep the model's time short).
Canaries, markers and the run id are fixed (``seed``) so both scans send the
same prompts to the same deterministic model.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from tgt_helpers import free_port, outcomes, scan, start_process, stop_process, wait_http

from ragward.engine.planner import select
from ragward.lab.target import LabTarget
from ragward.targets.config import build_target, parse_target_config

pytestmark = [pytest.mark.slow, pytest.mark.integration]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "targets" / "lab-http.yaml"
PDF_IDS = {
    "vulnerable": ["RW-INJ-127", "RW-INJ-131"],
    "hardened": ["RW-INJ-127", "RW-INJ-128", "RW-INJ-129", "RW-INJ-130", "RW-INJ-131"],
}


@pytest.mark.parametrize("profile", ["vulnerable", "hardened"])
def test_quick_scan_over_http_equals_in_process(profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    tokens_file = tmp_path / "tokens.yaml"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    log = tmp_path / "server.log"
    proc = start_process(
        [
            sys.executable,
            "-c",
            "from ragward.lab.server import lab_app; lab_app()",
            "serve",
            "--profile",
            profile,
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "served"),
            "--tokens-file",
            str(tokens_file),
        ],
        log,
        env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, log=log)
        tokens = yaml.safe_load(tokens_file.read_text())
        for tenant, token in tokens.items():
            monkeypatch.setenv(f"RAGWARD_LAB_TOKEN_{tenant.upper()}", token)
        data = yaml.safe_load(EXAMPLE.read_text()) | {"base_url": f"http://127.0.0.1:{port}"}
        only = [t.spec.id for t in select("quick")] + PDF_IDS[profile]
        local = scan(LabTarget(profile, tmp_path / "local"), tmp_path / "j1", profile="all", only=only, seed=7)
        remote = scan(build_target(parse_target_config(data)), tmp_path / "j2", profile="all", only=only, seed=7)
    finally:
        stop_process(proc)
    assert local.error is None and remote.error is None
    assert outcomes(remote) == outcomes(local)
    assert remote.tests_run >= 6
    assert set(PDF_IDS[profile]) <= set(outcomes(remote))
    if profile == "hardened":
        assert {outcomes(remote)[i] for i in PDF_IDS[profile]} == {"passed"}
        assert {t.caught_by for t in remote.tests if t.id in PDF_IDS[profile]} == {"ingest_scanner"}
    if profile == "vulnerable":
        assert remote.tests_failed > 0
        # the hidden sentence is indexed and retrieved whatever SmolLM2 answers; the malformed file is indexed
        assert {outcomes(remote)[i] for i in PDF_IDS[profile]} == {"failed"}
