"""The layering rules, as tests: the engine never depends on the GUI (napari-style).

studio/core, studio/ml and studio/audio import no PySide6; studio/core imports no torch;
music21 is imported only by studio/core/musicxml.py, and only inside its functions (MusicXML
import/export loads it when used; nothing else pays its start-up). Checked twice: statically
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
# The one module that may use music21, and only through imports inside functions.
LAZY_MUSIC21 = "core/musicxml.py"


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
        if path.relative_to(STUDIO).as_posix() == LAZY_MUSIC21:
            bad -= {"music21"}
        if bad:
            offenders.append(f"{path.relative_to(STUDIO.parent)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_music21_is_imported_only_inside_functions() -> None:
    tree = ast.parse((STUDIO / LAZY_MUSIC21).read_text(encoding="utf-8"))
    top_level = {
        alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0] for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
    }  # fmt: skip
    assert "music21" not in top_level


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


# ------------------------------------------------------------------- the generation service
ENGINE = ("studio.ml", "studio.core")
# Sampling internals: only studio/ml (and through it generation.py's public API) uses them.
SAMPLING_INTERNALS = ("studio.ml.sample", "studio.ml.voicing")


def _engine_module_aliases(tree: ast.AST) -> dict[str, str]:
    """Local names bound to engine modules: ``from studio.ml import sample`` -> sample."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("studio.ml", "studio.core"):
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(ENGINE) and alias.asname:
                    aliases[alias.asname] = alias.name
    return aliases


def private_engine_uses(path: Path) -> list[str]:
    """``from studio.ml.x import _name`` and ``module._name`` on an engine module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(ENGINE):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    aliases = _engine_module_aliases(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            found.append(f"{aliases[node.value.id]}.{node.attr} (line {node.lineno})")
    return found


def sampling_internal_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(SAMPLING_INTERNALS):
                found.append(node.module)
            elif node.module == "studio.ml":
                found += [
                    f"studio.ml.{a.name}"
                    for a in node.names
                    if f"studio.ml.{a.name}" in SAMPLING_INTERNALS
                ]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith(SAMPLING_INTERNALS)]
    return found


def test_the_ui_uses_no_private_names_of_the_engine() -> None:
    offenders = [
        f"{path.relative_to(STUDIO.parent)}: {use}"
        for path in sorted((STUDIO / "ui").rglob("*.py"))
        for use in private_engine_uses(path)
    ]
    assert not offenders, "\n".join(offenders)


def test_only_studio_ml_reaches_the_sampling_internals() -> None:
    """The CLI and the UI generate through studio.ml.generation's public API alone."""
    offenders = [
        f"{path.relative_to(STUDIO.parent)} imports {name}"
        for path in sorted(STUDIO.rglob("*.py"))
        if (STUDIO / "ml") not in path.parents
        for name in sampling_internal_imports(path)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from studio.ml import sample\n"
        "from studio.core.song import _private\n"
        "import studio.ml.voicing as v\n"
        "z = sample._latents(None, 1, 0)\n"
    )
    assert private_engine_uses(bad) == [
        "studio.core.song._private",
        "studio.ml.sample._latents (line 4)",
    ]
    assert sampling_internal_imports(bad) == ["studio.ml.sample", "studio.ml.voicing"]
