"""Compute devices: what is available, and turning a user's choice into a torch.device."""

from __future__ import annotations

import os

import torch

from studio.ml.errors import DeviceError


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def available_devices() -> list[tuple[str, str]]:
    """(id, label) pairs, best first; ``auto`` picks CUDA, then MPS, then the CPU."""
    out: list[tuple[str, str]] = []
    if torch.cuda.is_available():
        for k in range(torch.cuda.device_count()):
            out.append((f"cuda:{k}", f"CUDA {k}: {torch.cuda.get_device_name(k)}"))
    if _mps_available():
        out.append(("mps", "Apple GPU (MPS)"))
    out.append(("cpu", f"CPU ({os.cpu_count() or 1} cores)"))
    return out


def resolve_device(choice: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps`` -> a usable torch.device."""
    choice = (choice or "auto").strip().lower()
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                "CUDA was requested but no CUDA GPU is available "
                "(this PyTorch build or machine has none); use --device cpu or auto"
            )
        index = int(choice.split(":", 1)[1]) if ":" in choice else local_rank
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"cuda:{index} does not exist ({torch.cuda.device_count()} GPU(s) found)"
            )
        return torch.device("cuda", index)
    if choice == "mps":
        if not _mps_available():
            raise DeviceError("MPS (Apple GPU) was requested but is not available; use cpu")
        return torch.device("mps")
    raise DeviceError(f"unknown device {choice!r}; use auto, cpu, cuda, cuda:N or mps")


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{device.index or 0} ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"
