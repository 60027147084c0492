"""Fixtures for the ML engine tests: a handful of real chorales and one tiny trained run."""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_helpers import make_chorale_folder, tiny_config


@pytest.fixture(scope="session")
def chorales(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_chorale_folder(tmp_path_factory.mktemp("chorales"))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, chorales: Path, cache_dir: Path) -> Path:
    """A run folder holding a tiny model trained for a few steps (shared, read-only)."""
    from studio.ml.train import train

    out = tmp_path_factory.mktemp("tiny_run")
    for _ in train(tiny_config(chorales, out, cache_dir, steps=12)):
        pass
    return out
