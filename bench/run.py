"""Run every benchmark and print one table: ``python -m bench.run [NAME ...]``.

Each ``bench/bench_*.py`` module exposes ``run() -> list[Row]``. Pass names (e.g.
``core editor``) to run a subset; ``--markdown`` prints a README-ready table.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def format_table(rows: list[Row], markdown: bool) -> str:
    header = ("area", "metric", "value", "unit", "target", "note")
    body = [(r.area, r.metric, f"{r.value:.4g}", r.unit, r.target, r.note) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [
        max(len(h), *(len(c[k]) for c in body)) if body else len(h) for k, h in enumerate(header)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*cells) for cells in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"subset of: {' '.join(discover())}")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    names = args.names or discover()
    rows: list[Row] = []
    failed = False
    for name in names:
        print(f"# running bench_{name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            rows.extend(module.run())
        except Exception:  # one broken bench must not hide the others' numbers
            failed = True
            traceback.print_exc()
    print(format_table(rows, args.markdown))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
