"""Where Pianola finds its bundled resources and keeps the user's data.

Bundled files (the Bach dataset, the default model) live next to the ``studio`` package
in a source checkout and under ``sys._MEIPASS`` in a PyInstaller build, so code asks
here instead of building paths from ``__file__``. User data (trained models, runs) and
configuration go to the platform's usual folders, which tests redirect with the
``PIANOLA_DATA_DIR``, ``PIANOLA_CONFIG_DIR`` and ``PIANOLA_STATE_DIR`` environment
variables. The log file and crash-recovery copies of open songs live in the state/data
folders (``user_log_dir``, ``recovery_dir``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "pianola"


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def app_root() -> Path:
    """Folder that holds ``resources/`` and ``models/``: the checkout or the bundle."""
    if is_frozen():
        return Path(sys._MEIPASS)  # type: ignore[attr-defined]
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("datasets", "bach_chorales")``."""
    return app_root().joinpath("resources", *parts)


def bach_dataset_dir() -> Path:
    """The bundled Bach chorales (one MIDI file per chorale, plus ``split.json``)."""
    return resource_path("datasets", "bach_chorales")


def models_dir() -> Path:
    """Bundled, read-only models (the default generator lives here)."""
    return app_root() / "models"


def _env_dir(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else None


def user_data_dir() -> Path:
    """Writable folder for the user's trained models and training runs (created)."""
    folder = _env_dir("PIANOLA_DATA_DIR") or _platform_dir("data")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def user_config_dir() -> Path:
    """Writable folder for configuration files (created)."""
    folder = _env_dir("PIANOLA_CONFIG_DIR") or _platform_dir("config")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def user_log_dir() -> Path:
    """Writable folder for the log file (created).

    The XDG *state* folder on Linux (logs are state, not data), ``~/Library/Logs`` on
    macOS and ``%LOCALAPPDATA%\\Pianola\\Logs`` on Windows, as each platform's tools expect.
    """
    folder = _env_dir("PIANOLA_STATE_DIR") or _platform_dir("log")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def recovery_dir() -> Path:
    """Writable folder for the autosaved copies of open songs (created)."""
    folder = _env_dir("PIANOLA_RECOVERY_DIR") or user_data_dir() / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _platform_dir(kind: str) -> Path:
    """The platform's folder for ``kind``: "data", "config" or "log"."""
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("APPDATA" if kind == "config" else "LOCALAPPDATA")
        root = Path(base) / "Pianola" if base else home / "AppData" / "Local" / "Pianola"
        return root / "Logs" if kind == "log" else root
    if sys.platform == "darwin":
        if kind == "data":
            return home / "Library" / "Application Support" / "Pianola"
        if kind == "log":
            return home / "Library" / "Logs" / "Pianola"
        return home / "Library" / "Preferences" / "Pianola"
    variable, fallback = {
        "data": ("XDG_DATA_HOME", home / ".local" / "share"),
        "config": ("XDG_CONFIG_HOME", home / ".config"),
        "log": ("XDG_STATE_HOME", home / ".local" / "state"),
    }[kind]
    base = _env_dir(variable) or fallback
    return base / APP_DIR_NAME
