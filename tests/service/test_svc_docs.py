"""docs/api.md: its bash blocks run, in order, as one session against a live ``ragward serve``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from svc_helpers import HERE

from ragward.service.settings import ServiceSettings

pytestmark = pytest.mark.timeout(300)

DOC = HERE.parents[1] / "docs" / "api.md"


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_api_doc_session_runs(tmp_path: Path) -> None:
    blocks = _bash_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + "\n".join(blocks)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGWARD_")}
    env.update(
        RAGWARD_PORT=str(_free_port()),
        RAGWARD_HOME=str(tmp_path / "home"),
        # the documented lab target is scanned by a MockTarget here (no model loading)
        RAGWARD_TARGET_FACTORY="svc_factories:mock_factory",
        PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        HF_HUB_OFFLINE="1",
    )
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert '"accepted":true' in out and '"poll":"/api/v2/rag-runs"' in out
    assert '"status":"completed"' in out and '"trigger":"manual"' in out
    assert '"status":"triaged"' in out
    assert '"cron":"0 3 * * *"' in out
    assert '{"error":"missing_token"}' in out and '{"error":"invalid_run_id"}' in out
    assert (tmp_path / "ragward.db").exists()


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in ServiceSettings.model_fields if f"RAGWARD_{name.upper()}" not in text]
    assert missing == []
