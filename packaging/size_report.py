"""What takes the space in a built bundle: the largest parts and the largest files.

    python packaging/size_report.py [BUNDLE_DIR] [--top N] [--json]

BUNDLE_DIR defaults to dist/pianola. A "part" is a package folder of the bundle
(``torch/lib``, ``PySide6/Qt/lib``, ``numpy`` ...): big packages are split one level deeper
so the table says which piece of them is big. Standard library only (runs anywhere).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

# Packages big enough that their sub-folders are reported separately.
SPLIT = {"torch": 1, "PySide6": 2, "PySide6/Qt": 1}


def bundle_files(root: Path) -> list[tuple[Path, int]]:
    """Every regular file under ``root`` (symlinks not counted twice) with its size."""
    files = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink():
                files.append((path.relative_to(root), path.stat().st_size))
    return files


def part_of(relative: Path) -> str:
    """The part a file belongs to (``_internal/`` is PyInstaller's container, skipped)."""
    parts = list(relative.parts)
    if parts and parts[0] == "_internal":
        parts = parts[1:]
    if len(parts) == 1:
        return parts[0]  # a top-level file: the executables, libpython, base_library.zip
    depth = 1
    while "/".join(parts[:depth]) in SPLIT and len(parts) > depth + 1:
        depth += 1
    return "/".join(parts[:depth])


def report(root: Path, top: int) -> dict:
    files = bundle_files(root)
    totals: dict[str, int] = defaultdict(int)
    for relative, size in files:
        totals[part_of(relative)] += size
    return {
        "bundle": str(root),
        "total_bytes": sum(size for _, size in files),
        "files": len(files),
        "largest_parts": sorted(totals.items(), key=lambda item: -item[1])[:top],
        "largest_files": [
            (str(relative), size) for relative, size in sorted(files, key=lambda f: -f[1])[:top]
        ],
    }


def _mib(size: int) -> str:
    return f"{size / 2**20:8.1f} MiB"


def print_table(data: dict) -> None:
    total = data["total_bytes"]
    print(f"{data['bundle']}: {_mib(total).strip()} in {data['files']} files\n")
    print(f"{'largest parts':<44} {'size':>12} {'share':>6}")
    for name, size in data["largest_parts"]:
        print(f"{name:<44} {_mib(size)} {100 * size / total:5.1f}%")
    print(f"\n{'largest files':<60} {'size':>12}")
    for name, size in data["largest_files"]:
        print(f"{name:<60} {_mib(size)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", default="dist/pianola")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    root = Path(args.bundle)
    if not root.is_dir():
        print(f"size_report: no bundle at {root} (run `make package` first)", file=sys.stderr)
        return 1
    data = report(root, args.top)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_table(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
