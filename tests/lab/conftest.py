"""Fixtures of the lab tests: deterministic stand-ins for the two models.

``HashingEmbedder`` is a feature-hashing bag-of-words embedder (Weinberger et
al., "Feature Hashing for Large Scale Multitask Learning", ICML 2009): texts
sharing words get similar vectors, so retrieval behaves sensibly without the
real model. ``ParrotModel`` is a worst-case chat model that repeats its
context, so anything retrieved reaches the answer; it records every prompt.
Tests that need the real all-MiniLM-L6-v2 and SmolLM2 are marked ``slow``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ragward.lab.pipeline import RagLab
from ragward.lab.profiles import LabProfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model_doubles import HashingEmbedder, ParrotModel

__all__ = ["HashingEmbedder", "ParrotModel"]


@pytest.fixture(scope="session")
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def parrot() -> ParrotModel:
    return ParrotModel()


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lab")


LabFactory = Callable[[str | LabProfile, Path], RagLab]


@pytest.fixture(scope="session")
def lab_factory(embedder: HashingEmbedder) -> LabFactory:
    """Opens a RagLab with the hashing embedder and a fresh ParrotModel."""

    def make(profile: str | LabProfile, data_dir: Path) -> RagLab:
        return RagLab(profile, data_dir, embedder=embedder, chat_model=ParrotModel())

    return make
