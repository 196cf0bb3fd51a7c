"""Compare sparsecode with peer libraries and print one markdown table per family.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python asv_bench/compare_peers.py [--family greedy ...] [--full] \\
        [--markdown-out table.md] [--rst-out table.rst] [--json-out rows.json]

Each family provides ``asv_bench/peers/<family>.py`` with
``run(full=False) -> list[dict]`` (see ``asv_bench/peers/__init__.py`` for the
row keys).  Without ``--family``, every family found there is run.  A peer
that is not installed gives a row saying so; a family whose ``run`` fails is
reported and the others still run (the exit status is then 1).
"""

import argparse
import importlib
import math
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS_DIR = HERE / "peers"

# the in-place build of the working tree, and ``peers`` as a package
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

BASE_COLUMNS = ("problem", "method", "peer", "t_ours_s", "t_peer_s", "ratio")
HEADERS = {
    "problem": "problem",
    "method": "method",
    "peer": "peer",
    "t_ours_s": "ours (ms)",
    "t_peer_s": "peer (ms)",
    "ratio": "ratio peer/ours",
}


def available_families():
    """Family names with a module in ``asv_bench/peers/``."""
    return sorted(p.stem for p in PEERS_DIR.glob("*.py") if not p.stem.startswith("_"))


def _fmt_seconds(value):
    if value is None:
        return "not installed"
    if isinstance(value, (int, float)) and not math.isfinite(value):
        return "n/a"
    ms = 1e3 * value
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        if value == 0:
            return "0"
        if abs(value) >= 1e4 or abs(value) < 1e-3:
            return f"{value:.1e}"
        return f"{value:.3g}"
    return str(value).replace("|", "\\|")


def _columns(rows):
    """Base columns, then the extra keys in order of first appearance ("note" last)."""
    extra = []
    for row in rows:
        for key in row:
            if key not in BASE_COLUMNS and key not in extra and key != "note":
                extra.append(key)
    if any(r.get("note") and r.get("t_peer_s") is not None for r in rows):
        extra.append("note")  # notes of missing peers already fill the peer-time cell
    return list(BASE_COLUMNS) + extra


def _cells(row, columns):
    cells = []
    for c in columns:
        v = row.get(c)
        if c == "t_ours_s":
            cells.append(_fmt_seconds(v) if v is not None else "")
        elif c == "t_peer_s":
            cells.append(_fmt_seconds(v) if v is not None else
                         (row.get("note") or "not installed"))
        elif c == "ratio":
            cells.append("" if v is None else f"{v:.2f}")
        else:
            cells.append(_fmt(v))
    return cells


def markdown_table(rows):
    """A markdown table of the rows; extra keys become columns after the base ones."""
    columns = _columns(rows)
    lines = [
        "| " + " | ".join(HEADERS.get(c, c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(_cells(row, columns)) + " |" for row in rows]
    return "\n".join(lines)


def rst_table(rows, title=None):
    """The same table as a reStructuredText ``csv-table`` directive (for the docs)."""
    columns = _columns(rows)

    def quote(cell):
        return '"' + cell.replace('"', '""') + '"'

    lines = [f".. csv-table:: {title}" if title else ".. csv-table::",
             "   :header: " + ", ".join(quote(HEADERS.get(c, c)) for c in columns), ""]
    lines += ["   " + ", ".join(quote(c) for c in _cells(row, columns)) for row in rows]
    return "\n".join(lines)


def machine_line():
    """One line describing where the numbers come from."""
    try:
        n_cpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n_cpu = os.cpu_count()
    import numpy as np

    return (f"{platform.machine()}, {n_cpu} cores available, Python {platform.python_version()}, "
            f"numpy {np.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def run_family(name, full):
    """Import ``peers.<name>`` and return its rows."""
    module = importlib.import_module(f"peers.{name}")
    rows = module.run(full=full)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"peers/{name}.py: run() must return a list of dicts")
    for r in rows:
        missing = [k for k in ("problem", "method", "peer") if k not in r]
        if missing:
            raise KeyError(f"peers/{name}.py: a row lacks {missing}: {r}")
        r.setdefault("t_ours_s", None)
        r.setdefault("t_peer_s", None)
        if r.get("ratio") is None and r["t_peer_s"] is not None and r["t_ours_s"]:
            r["ratio"] = r["t_peer_s"] / r["t_ours_s"]
        r.setdefault("ratio", None)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Time sparsecode against peer libraries (same data, one process) and "
        "print one markdown table per family; ratio = peer time / our time (>1: we are "
        "faster).")
    families = available_families()
    parser.add_argument("--family", action="append", choices=families, metavar="NAME",
                        help=f"family to run (repeatable; default: all of {', '.join(families)})")
    parser.add_argument("--full", action="store_true",
                        help="full-size problems and more repeats (slower)")
    parser.add_argument("--markdown-out", metavar="FILE",
                        help="also write the tables (markdown) to FILE")
    parser.add_argument("--json-out", metavar="FILE",
                        help="also write the raw rows (JSON, one list per family) to FILE")
    parser.add_argument("--rst-out", metavar="FILE",
                        help="also write the tables as reStructuredText csv-table "
                        "directives to FILE (for docs/benchmarks/<family>.rst)")
    args = parser.parse_args(argv)

    chosen = args.family or families
    out = [f"Machine: {machine_line()}", ""]
    rst = [f"Machine: {machine_line()}", ""]
    raw = {"machine": machine_line(), "families": {}}
    print(out[0], flush=True)
    status = 0
    for name in chosen:
        t0 = time.perf_counter()
        print(f"\n## {name}\n", flush=True)
        try:
            rows = run_family(name, args.full)
        except Exception:  # noqa: BLE001 - report and go on with the other families
            status = 1
            msg = traceback.format_exc()
            print(f"peers/{name}.py failed:\n{msg}", file=sys.stderr, flush=True)
            out += [f"## {name}", "", f"run failed: {msg.strip().splitlines()[-1]}", ""]
            rst += [f"{name}: run failed: {msg.strip().splitlines()[-1]}", ""]
            continue
        table = markdown_table(rows)
        print(table)
        print(f"\n({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
        out += [f"## {name}", "", table, ""]
        rst += [rst_table(rows, title=name), ""]
        raw["families"][name] = rows
    if args.markdown_out:
        Path(args.markdown_out).write_text("\n".join(out) + "\n")
    if args.json_out:
        import json

        Path(args.json_out).write_text(json.dumps(raw, indent=1, default=str) + "\n")
    if args.rst_out:
        Path(args.rst_out).write_text("\n".join(rst) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
