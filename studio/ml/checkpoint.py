"""Checkpoint files: tensors plus one JSON metadata string, loaded without running code.

A checkpoint is a ``torch.save``d dict of state dicts (tensors, numbers, strings) and a
``meta`` JSON string: model and training config, dataset fingerprint and track layout,
step, metrics, library versions and the architecture version. It is always read with
``torch.load(weights_only=True)``, which refuses any pickled Python object, so opening a
checkpoint can never execute code from it. Writes go to a temp file in the same folder
and are renamed into place, so a crash mid-write leaves the previous file intact, and a
full disk is reported as "disk full while saving <path>".

torch does not check the CRCs of its zip members, and happily loads NaN weights that then
make empty music, so `load_checkpoint` verifies the container first (every member's
CRC, stored members only: no decompression bombs) and every float tensor after loading.
Files that are not checkpoints at all (a MIDI or text file passed as a model) are named
as such before torch sees them. torch's warnings go to the log, not to stderr.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import platform
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from studio.core.atomic import atomic_write_bytes, write_error_message
from studio.ml.bundled import DEFAULT_NAME, bundled_models, bundled_models_dir
from studio.ml.errors import CheckpointError, NoBundledModelError
from studio.ml.models import ARCH_VERSION

FORMAT = "pianola-checkpoint"
CHECKPOINT_DIR = "checkpoints"
_STEP_RE = re.compile(r"^step_(\d+)\.pt$")
GENERATOR_FILE = "generator.pt"
DAMAGED_SUFFIX = ".damaged"
_ZIP_MAGIC = b"PK\x03\x04"

_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64, torch.complex64, torch.complex128)
log = logging.getLogger(__name__)


def versions() -> dict[str, str]:
    try:
        from importlib.metadata import version

        pianola = version("pianola")
    except Exception:  # not installed as a package (running from the source tree)
        pianola = "source"
    return {"torch": torch.__version__, "python": platform.python_version(), "pianola": pianola}


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` to ``path`` atomically; a failed write raises a clear CheckpointError.

    The archive is built in memory and written by `atomic_write_bytes`: torch's own file
    writer reports a full disk as a cryptic ``inline_container`` RuntimeError.
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getbuffer())
    except OSError as exc:
        raise CheckpointError(write_error_message(exc, path)) from exc


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
    verify_container(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" not in str(exc).lower():
            raise CheckpointError(f"{path}: corrupt checkpoint (damaged data.pkl)") from exc
        raise CheckpointError(
            f"{path}: refused to load: the file contains Python objects, not just weights "
            "(loading it could run code)"
        ) from exc
    except MemoryError as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint (absurd tensor sizes)") from exc
    except Exception as exc:  # torch raises many types on damaged archives
        raise CheckpointError(
            f"{path}: corrupt or truncated checkpoint ({_first_line(exc)})"
        ) from exc
    for warning in caught:
        log.warning("torch.load(%s): %s", path, warning.message)
    if not isinstance(state, dict) or not isinstance(state.get("meta"), str):
        raise CheckpointError(
            f"{path}: not a Pianola model (a torch file without Pianola metadata)"
        )
    try:
        meta = json.loads(state["meta"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: damaged checkpoint metadata ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Pianola model (unknown checkpoint format)")
    if meta.get("arch_version") != ARCH_VERSION:
        raise CheckpointError(
            f"{path}: made for model architecture {meta.get('arch_version')!r}, but this "
            f"version of Pianola uses {ARCH_VERSION!r}; retrain the model or use a matching "
            "Pianola version"
        )
    bad = first_non_finite(state)
    if bad is not None:
        raise CheckpointError(
            f"{path}: damaged checkpoint: {bad} holds NaN or infinite values; use an earlier "
            "checkpoint of the run"
        )
    return state, meta


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _kind_of_file(head: bytes) -> str:
    """What a file that is not a zip archive looks like, for the refusal message."""
    if head.startswith(b"MThd") or (head.startswith(b"RIFF") and b"RMID" in head[:12]):
        return "it is a MIDI file"
    if not head:
        return "the file is empty"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not a checkpoint file"
    if text.lstrip().startswith("{") and "pianola-project" in text:
        return "it is a Pianola project"
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return "it is a text file" if printable >= 0.95 * len(text) else "it is not a checkpoint file"


def verify_container(path: Path) -> None:
    """Refuse a file that is not an intact torch zip archive (bad magic, CRC, layout)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not head.startswith(_ZIP_MAGIC):
        raise CheckpointError(f"{path}: not a Pianola model ({_kind_of_file(head)})")
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if any(m.compress_type != zipfile.ZIP_STORED for m in members):
                raise CheckpointError(f"{path}: not a Pianola model (compressed zip members)")
            if sum(m.file_size for m in members) > size:
                raise CheckpointError(f"{path}: corrupt checkpoint (member sizes exceed the file)")
            if not any(m.filename.endswith("data.pkl") for m in members):
                raise CheckpointError(f"{path}: not a Pianola model (a zip file, not a checkpoint)")
            damaged = archive.testzip()
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path}: corrupt or truncated checkpoint ({_first_line(exc)})"
        ) from exc
    except Exception as exc:  # zipfile's parser raises odd types on crafted headers
        raise CheckpointError(f"{path}: corrupt checkpoint ({_first_line(exc)})") from exc
    if damaged is not None:
        raise CheckpointError(
            f"{path}: damaged checkpoint: {damaged.rsplit('/', 1)[-1]} fails its CRC check "
            "(the file was corrupted on disk or in transfer)"
        )


def _all_finite(tensor: torch.Tensor) -> bool:
    # numpy where it can: one thread, no OpenMP. torch.isfinite on the bundled model's 92
    # tensors took 0.13-0.6 s of a CLI run on 2 busy cores (parallel regions waiting for
    # a core another process holds); numpy takes 12-17 ms.
    if tensor.device.type == "cpu" and tensor.dtype in _NUMPY_FLOATS:
        return bool(np.isfinite(tensor.detach().numpy()).all())
    return bool(torch.isfinite(tensor).all())


def first_non_finite(value: Any, name: str = "") -> str | None:
    """Name of the first float tensor in a nested state holding NaN/inf, else None."""
    if isinstance(value, torch.Tensor):
        floating = value.is_floating_point() or value.is_complex()
        if floating and value.numel() and not _all_finite(value):
            return name or "a tensor"
        return None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = first_non_finite(item, f"{name}.{key}" if name else str(key))
        if found is not None:
            return found
    return None


def newest_good_checkpoint(
    run_dir: str | os.PathLike[str], set_aside: bool = True
) -> tuple[Path | None, list[str]]:
    """The newest checkpoint of a run that loads, and what was wrong with newer ones.

    With ``set_aside`` a damaged checkpoint is renamed ``step_….pt.damaged`` (kept for
    inspection, no longer listed, never pruned), so the resumed run does not trip over it
    again. (Only one process of a distributed run may do that.)
    """
    notes: list[str] = []
    for candidate in reversed(list_checkpoints(run_dir)):
        try:
            load_checkpoint(candidate)
        except CheckpointError as exc:
            aside = candidate.with_name(candidate.name + DAMAGED_SUFFIX)
            kept = "left in place"
            if set_aside:
                try:
                    candidate.replace(aside)
                    kept = f"kept as {aside.name}"
                except OSError:
                    pass
            reason = str(exc).removeprefix(f"{candidate}: ")
            notes.append(f"checkpoint {candidate.name} is damaged ({reason}); {kept}")
            log.warning("%s", notes[-1])
            continue
        return candidate, notes
    return None, notes


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


def resolve_model(source: str | os.PathLike[str]) -> Path:
    """A checkpoint file from a file path, a run folder, ``default`` (the bundled model)
    or another bundled model's name (`studio.ml.bundled`)."""
    folder = bundled_models_dir()
    if str(source) == DEFAULT_NAME:
        found = bundled_models(folder)
        if not found:
            raise NoBundledModelError(
                f"no bundled model yet (nothing in {folder}); train one with "
                "`pianola train --data bach-chorales --out RUN_DIR` and pass --model RUN_DIR"
            )
        return found[0].path
    path = Path(source).expanduser()
    if path.is_dir():
        latest = latest_checkpoint(path)
        if latest is not None:
            return latest
        if (path / GENERATOR_FILE).is_file():
            return path / GENERATOR_FILE
        raise CheckpointError(f"no checkpoints in run folder {path}")
    if not path.exists():
        bundled = bundled_models(folder)
        named = next((m.path for m in bundled if str(source) in (m.name, m.path.stem)), None)
        if named is not None:
            return named
        names = ", ".join(m.name for m in bundled) or "none"
        raise CheckpointError(f"model not found: {path} (bundled models: {names})")
    return path
