"""The layering rules, as tests: the engine never depends on the GUI (napari-style).

studio/core, studio/ml and studio/audio import no PySide6; studio/core imports no torch;
nothing in the app imports music21 (a data-building tool only). Checked twice: statically
(every import statement, including ones inside functions) and at run time (importing
each package in a fresh interpreter and looking at sys.modules).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

STUDIO = Path(__file__).resolve().parent.parent / "studio"

FORBIDDEN = {
    "core": {"PySide6", "shiboken6", "torch", "music21", "pyqtgraph"},
    "ml": {"PySide6", "shiboken6", "music21", "pyqtgraph"},
    "audio": {"PySide6", "shiboken6", "music21", "pyqtgraph"},
    "ui": {"music21"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules_of(package: str) -> list[str]:
    folder = STUDIO / package
    return sorted(
        "studio." + ".".join(p.relative_to(STUDIO).with_suffix("").parts).removesuffix(".__init__")
        for p in folder.rglob("*.py")
    )


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_import_statements(package: str) -> None:
    offenders = []
    for path in sorted((STUDIO / package).rglob("*.py")):
        bad = imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(STUDIO.parent)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_studio_core_imports_nothing_from_other_studio_layers() -> None:
    for path in sorted((STUDIO / "core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("studio.ml", "studio.audio", "studio.ui")), path


@pytest.mark.parametrize("package", ["core", "ml", "audio"])
def test_importing_the_engine_loads_no_gui(package: str) -> None:
    modules = modules_of(package)
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert not loaded & FORBIDDEN[package], (
        f"studio.{package} pulled in {loaded & FORBIDDEN[package]}"
    )
