"""The target-file schema: one-line errors, secrets as references, labels, and build_target per kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragward.errors import ConfigError
from ragward.targets._secrets import SecretStore
from ragward.targets._template import Template, sql_literal
from ragward.targets.config import (
    ChromaTargetConfig,
    LabTargetConfig,
    build_target,
    load_target_config,
    parse_target_config,
)

ROOT = Path(__file__).resolve().parents[2]


def err(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_target_config(data)
    assert "\n" not in info.value.message
    return info.value.message


def test_kind_errors() -> None:
    assert "unknown kind 'nope'" in err({"kind": "nope"})
    assert "kind: missing" in err({"tenants": []})
    assert "must be a mapping" in err(["kind", "lab"])
    assert "profile" in err({"kind": "lab", "profile": "x"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "kind": "openai",
                "base_url": "http://x",
                "model": "m",
                "api_key": "sk-123",
                "retriever": {"kind": "chroma", "path": "/x", "tenants": ["a"]},
            },
            "api_key: give secrets",
        ),
        ({"kind": "qdrant", "url": "http://q", "api_key": "k", "tenants": ["a"]}, "api_key: give secrets"),
        ({"kind": "pgvector", "dsn": "postgresql://u:pw@h/db", "tenants": ["a"]}, "dsn: give the password"),
        ({"kind": "pgvector", "dsn": "host=h password=pw", "tenants": ["a"]}, "dsn: give the password"),
        ({"kind": "chroma", "tenants": ["a"]}, "exactly one of 'path' or 'url'"),
        ({"kind": "chroma", "path": "/x", "tenants": []}, "at least one tenant"),
        ({"kind": "chroma", "path": "/x", "tenants": [{"name": "a", "headers": {"X": "y"}}]}, "http targets only"),
        ({"kind": "chroma", "path": "/x", "tenants": ["a"], "modes": {"fuzzy": {}}}, "unknown mode(s) fuzzy"),
        ({"kind": "lancedb", "uri": "/x", "tenants": ["bad name!"]}, "tenants.0.name"),
        (
            {
                "kind": "openai",
                "base_url": "http://x",
                "model": "m",
                "retriever": {"kind": "chroma", "path": "/x", "tenants": []},
            },
            "retriever: tenants",
        ),
        ({"kind": "langchain", "factory": "nocolon", "tenants": ["a"]}, "factory"),
    ],
)
def test_field_errors_are_one_line_and_name_the_field(data: dict[str, Any], message: str) -> None:
    assert message in err(data)


def test_references_are_kept_until_build_and_never_resolved_in_repr_or_dump() -> None:
    data = {"kind": "pgvector", "dsn": "postgresql://app:${PG_PW}@db.internal:5433/rag", "tenants": ["a", "b"]}
    config = parse_target_config(data)
    assert "${PG_PW}" in repr(config)
    assert config.model_dump(mode="json")["dsn"] == data["dsn"]
    assert config.label == "pgvector:db.internal:5433/rag/ragward_chunks"
    with pytest.raises(ConfigError, match="dsn: environment variable PG_PW is not set"):
        build_target(config)


def test_tenant_shorthand_and_values() -> None:
    config = parse_target_config({"kind": "chroma", "path": "/x", "tenants": ["acme", {"name": "g", "value": "G-1"}]})
    assert isinstance(config, ChromaTargetConfig)
    assert [(t.name, t.filter_value) for t in config.tenants] == [("acme", "acme"), ("g", "G-1")]


def test_load_target_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read target file"):
        load_target_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: lab\nprofile: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(line"):
        load_target_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text("kind: lab\nprofile: hardened\n")
    config = load_target_config(good)
    assert isinstance(config, LabTargetConfig) and config.label == "lab:hardened"


def test_build_target_gives_each_kind_its_adapter_without_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_PW", "pw")
    monkeypatch.chdir(ROOT)
    kinds = {
        "chroma": ({"path": str(tmp_path / "c")}, "ChromaTarget"),
        "qdrant": ({"path": str(tmp_path / "q")}, "QdrantTarget"),
        "lancedb": ({"uri": str(tmp_path / "l")}, "LanceDBTarget"),
        "pgvector": ({"dsn": "postgresql://app:${PG_PW}@127.0.0.1:1/none"}, "PgvectorTarget"),
        "langchain": ({"factory": "examples/targets/langchain_app.py:build"}, "LangChainTarget"),
    }
    for kind, (fields, cls) in kinds.items():
        target = build_target(parse_target_config({"kind": kind, "tenants": ["a", "b"], **fields}))
        assert type(target).__name__ == cls
        assert target.key.startswith(f"{kind}-") and len(target.key) == len(kind) + 13
        assert target.capabilities().tenants == ("a", "b")
        assert "pw" not in repr(target).replace("pwd", "")
    http = build_target(
        parse_target_config({"kind": "http", "base_url": "http://x", "tenants": ["a"], "retrieve": {"url": "/r"}})
    )
    assert type(http).__name__ == "HttpTarget"
    wrapped = build_target(
        parse_target_config(
            {
                "kind": "openai",
                "base_url": "http://x/v1",
                "model": "m",
                "retriever": {"kind": "chroma", "path": str(tmp_path / "c"), "tenants": ["a", "b"]},
            }
        )
    )
    assert type(wrapped).__name__ == "OpenAITarget"


def test_template_conversions_and_raw_values() -> None:
    names = ("tenant", "query")
    t = Template(
        {
            "where": {"tenant": "{tenant}"},
            "sql": "tenant = {tenant:sql}",
            "q": "{query} for {tenant}",
            "u": "/x/{tenant:url}",
            "n": [1, True, None],
        },
        names,
    )
    out = t.render({"tenant": {"$ne": ""}, "query": "price?"})
    assert out["where"] == {"tenant": {"$ne": ""}}
    assert out["sql"] == """tenant = '{"$ne":""}'"""
    assert out["q"] == 'price? for {"$ne":""}'
    assert out["u"] == "/x/%7B%22%24ne%22%3A%22%22%7D"
    assert out["n"] == [1, True, None]
    assert t.render({"tenant": None, "query": "q"})["where"] == {"tenant": None}
    assert sql_literal("acme' OR '1'='1") == "'acme'' OR ''1''=''1'"


def test_template_secrets_resolve_and_scrub() -> None:
    store = SecretStore({"TOKEN": "s3cr3t-value"})
    t = Template({"Authorization": "Bearer ${TOKEN}"}, (), secrets=store)
    assert t.render({}) == {"Authorization": "Bearer s3cr3t-value"}
    assert store.scrub("failed with s3cr3t-value") == "failed with ***"
    assert "s3cr3t" not in repr(store) and "s3cr3t" not in repr(t)
    with pytest.raises(ConfigError, match="OTHER is not set"):
        Template("${OTHER}", (), secrets=store, where="x")
