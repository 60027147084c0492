"""Checkpoint files: tensors plus one JSON metadata string, loaded without running code.

A checkpoint is a ``torch.save``d dict of state dicts (tensors, numbers, strings) and a
``meta`` JSON string: model and training config, dataset fingerprint and track layout,
step, metrics, library versions and the architecture version. It is always read with
``torch.load(weights_only=True)``, which refuses any pickled Python object, so opening a
checkpoint can never execute code from it. Writes go to a temp file in the same folder
and are renamed into place, so a crash mid-write leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from studio.core.atomic import atomic_path
from studio.ml.errors import CheckpointError, NoBundledModelError
from studio.ml.models import ARCH_VERSION
from studio.paths import models_dir

FORMAT = "pianola-checkpoint"
CHECKPOINT_DIR = "checkpoints"
_STEP_RE = re.compile(r"^step_(\d+)\.pt$")
GENERATOR_FILE = "generator.pt"


def versions() -> dict[str, str]:
    try:
        from importlib.metadata import version

        pianola = version("pianola")
    except Exception:  # not installed as a package (running from the source tree)
        pianola = "source"
    return {"torch": torch.__version__, "python": platform.python_version(), "pianola": pianola}


def atomic_torch_save(obj: Any, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def to_cpu(value: Any) -> Any:
    """The same nested state with every tensor on the CPU, so that a checkpoint written on
    a GPU opens with a plain ``torch.load`` on a machine without one."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(v) for v in value)
    return value


def save_checkpoint(path: Path, tensors: dict[str, Any], meta: dict[str, Any]) -> Path:
    meta = {"format": FORMAT, "arch_version": ARCH_VERSION, "versions": versions(), **meta}
    atomic_torch_save({**to_cpu(tensors), "meta": json.dumps(meta)}, Path(path))
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, meta) of a checkpoint file; every failure is a clear CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to load: the file contains Python objects, not just weights "
            "(loading it could run code)"
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({exc})") from exc
    if not isinstance(state, dict) or not isinstance(state.get("meta"), str):
        raise CheckpointError(f"{path}: not a Pianola checkpoint (no metadata)")
    try:
        meta = json.loads(state["meta"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: damaged checkpoint metadata ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Pianola checkpoint")
    if meta.get("arch_version") != ARCH_VERSION:
        raise CheckpointError(
            f"{path}: made for model architecture {meta.get('arch_version')!r}, but this "
            f"version of Pianola uses {ARCH_VERSION!r}; retrain the model or use a matching "
            "Pianola version"
        )
    return state, meta


def step_of(path: Path) -> int:
    m = _STEP_RE.match(path.name)
    return int(m.group(1)) if m else -1


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if step_of(p) >= 0), key=step_of)


def latest_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def prune_checkpoints(run_dir: str | os.PathLike[str], keep_last: int) -> None:
    for old in list_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
        old.unlink(missing_ok=True)


def bundled_models_dir() -> Path:
    return Path(models_dir())


def resolve_model(source: str | os.PathLike[str]) -> Path:
    """A checkpoint file from a file path, a run folder, or ``default`` (the bundled model)."""
    if str(source) == "default":
        folder = bundled_models_dir()
        found = sorted(folder.glob("*.pt")) if folder.is_dir() else []
        if not found:
            raise NoBundledModelError(
                f"no bundled model yet (nothing in {folder}); train one with "
                "`pianola train --data bach-chorales --out RUN_DIR` and pass --model RUN_DIR"
            )
        return found[0]
    path = Path(source).expanduser()
    if path.is_dir():
        latest = latest_checkpoint(path)
        if latest is not None:
            return latest
        if (path / GENERATOR_FILE).is_file():
            return path / GENERATOR_FILE
        raise CheckpointError(f"no checkpoints in run folder {path}")
    if not path.exists():
        raise CheckpointError(f"model not found: {path}")
    return path
