"""Compare sparsecode with peer libraries and print one markdown table per family.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python asv_bench/compare_peers.py [--all | --family greedy ...] [--full] \\
        [--write-docs] [--markdown-out table.md] [--rst-out table.rst] [--json-out rows.json]

Each family provides ``asv_bench/peers/<family>.py`` with
``run(full=False) -> list[dict]`` (see ``asv_bench/peers/__init__.py`` for the
row keys).  Without ``--family``, every family found there is run.  A peer
that is not installed gives a row saying so; a family whose ``run`` fails is
reported and the others still run (the exit status is then 1).

``--write-docs`` writes, for every family run, ``docs/benchmarks/_generated/
<family>.inc`` (the machine, the BLAS threads, every library's version, what
the family module's ``summary(rows)`` says, if it has one, and the table)
and ``docs/benchmarks/_generated/<family>_ratios.png`` (the ratios as bars,
1 marked); each ``docs/benchmarks/<family>.rst`` includes them, so one
command regenerates every table and plot of the benchmarks pages.
"""

import argparse
import importlib
import math
import os
import platform
import re
import sys
import time
import traceback
from contextlib import contextmanager
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
    # extra keys the families use
    "threads": "threads",
    "timing": "timing",
    "err_ours": "error ours",
    "err_peer": "error peer",
    "rel_err_ours": "rel. error ours",
    "rel_err_peer": "rel. error peer",
    "n_iter_ours": "iterations ours",
    "n_iter_peer": "iterations peer",
    "support_agree": "support agreement",
    "same_support": "same support",
    "max_coef_diff": "max coef. difference",
    "f1_ours": "support F1 ours",
    "f1_peer": "support F1 peer",
    "cos_ours": "cosine ours",
    "cos_peer": "cosine peer",
    "cv_ours": "CV R2 ours",
    "cv_peer": "CV R2 peer",
    "rho_heldout_ours": "held-out corr. ours",
    "rho_heldout_peer": "held-out corr. peer",
    "peak_mem_ours_MiB": "peak memory ours (MiB)",
    "peak_mem_peer_MiB": "peak memory peer (MiB)",
    "import_ours_s": "import ours (s)",
    "first_call_ours_s": "first call ours (s)",
    "iters_ours": "iterations ours",
    "iters_peer": "iterations peer",
    "products_ours": "operator products ours",
    "products_peer": "operator products peer",
    "products_ratio": "products ratio peer/ours",
    "rel_obj_ours": "objective above optimum ours (rel.)",
    "rel_obj_peer": "objective above optimum peer (rel.)",
    "reached_peer": "peer reached target",
    "gemm_fraction": "GEMM share of our step",
    "loss_ours_step50": "loss ours (step 50)",
    "loss_peer_step50": "loss peer (step 50)",
    "max_rel_loss_diff": "max rel. loss difference",
    "l0_ours": "non-zeros ours",
    "l0_peer": "non-zeros peer",
    "err_ratio": "error ratio ours/peer",
    "recovered_095": "atoms recovered (cos >= 0.95)",
    "mmc": "mean max cosine",
    "dead_fraction": "dead latents",
    "data_MiB": "data (MiB)",
    "target_err": "target error",
    "target_obj": "target objective",
    "obj_ours": "objective ours",
    "obj_peer": "objective peer",
    "nnz_ours": "non-zeros ours",
    "nnz_peer": "non-zeros peer",
    "obj_rel_diff": "objective (ours - peer) / peer",
    "rel_obj_diff": "objective (ours - peer) / peer",
    "gap_ours": "rel. duality gap ours",
    "gap_peer": "rel. duality gap peer",
    "tol_ours": "tol ours",
    "tol_peer": "tol peer",
    "import_peer_s": "import peer (s)",
    "err_sbl": "error SBL()",
    "err_ggamp": "error GGAMPSBL()",
    "err_sbl_known": "error SBL, true noise",
    "err_ls_oracle": "error LS on true support",
    "err_ard": "error ARD",
    "err_abess": "error abess",
    "err_omp_k": "error OMP, true k",
    "e_step": "E-step",
    "draws": "draws",
    "recovered": "fits with the true support",
    "ls_gap_recovered": "their largest error above LS (dB)",
    "note": "note",
}


def _header(key):
    """The column title of a row key (known keys above, else underscores as spaces)."""
    return HEADERS.get(key, key.replace("_", " "))


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
        return f"{value:.4g}"
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
            # no peer time: a missing peer (``missing_row`` notes it) or a
            # quality-only row
            cells.append(_fmt_seconds(v) if v is not None else (row.get("note") or "-"))
        elif c == "ratio":
            cells.append("" if v is None else f"{v:.2f}")
        elif c == "note" and row.get("t_peer_s") is None:
            cells.append("")  # already in the peer-time cell
        else:
            cells.append(_fmt(v))
    return cells


def markdown_table(rows):
    """A markdown table of the rows; extra keys become columns after the base ones."""
    columns = _columns(rows)
    lines = [
        "| " + " | ".join(_header(c) for c in columns) + " |",
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
             "   :header: " + ", ".join(quote(_header(c)) for c in columns),
             "   :widths: auto", ""]
    lines += ["   " + ", ".join(quote(c) for c in _cells(row, columns)) for row in rows]
    return "\n".join(lines)


def machine_line():
    """One line describing where the numbers come from."""
    try:
        n_cpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n_cpu = os.cpu_count()
    return (f"{platform.machine()}, {n_cpu} cores available, Linux {platform.release()}, "
            f"Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


_PEER_NAME = re.compile(r"^([A-Za-z][\w.-]*) (v?\d[\w.+-]*)")
# "<library> <version>" at the start of a peer string or inside brackets
_PEER_ANYWHERE = re.compile(r"(?:^|[\[(])([A-Za-z][\w.-]*) (v?\d[\w.+-]*)")


def versions_line(rows):
    """Versions of sparsecode, its stack and every peer library named in ``rows``.

    A row's ``peer`` starts with ``"<library> <version>"`` (see
    ``peers.peer_version``); each library is listed once, whatever the call.
    """
    from importlib import metadata

    out = []
    for dist in ("sparsecode", "numpy", "scipy", "scikit-learn", "numba"):
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    stack = {v.split()[0] for v in out}
    peers = []
    for r in rows:
        for m in _PEER_ANYWHERE.finditer(str(r.get("peer") or "")):
            name = f"{m.group(1)} {m.group(2)}"
            if m.group(1) in stack or name in peers:
                continue
            try:
                metadata.version(m.group(1))  # a library, not e.g. "mode 2"
            except (metadata.PackageNotFoundError, ValueError):
                continue
            peers.append(name)
    return ", ".join(out) + (f"; peers: {', '.join(sorted(peers))}" if peers else "")


def _owner(filepath):
    """The package that ships a native library (``.../scipy.libs/x.so`` -> ``scipy``)."""
    parent = Path(filepath or "").parent.name
    if parent.endswith(".libs"):
        return parent[:-5] + "'s"
    return Path(filepath or "").name or "?"


def blas_line():
    """The BLAS and OpenMP libraries loaded, their versions and default thread counts."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return "BLAS: unknown"
    import numpy  # noqa: F401 - load the BLAS of the stack before the scan

    try:
        import scipy.linalg  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    infos = threadpool_info()
    parts = []
    for api in ("blas", "openmp"):
        libs = [i for i in infos if i.get("user_api") == api]
        if not libs:
            continue
        parts.append(("BLAS: " if api == "blas" else "OpenMP: ") + ", ".join(
            f"{i.get('internal_api')}{' ' + str(i['version']) if i.get('version') else ''}"
            f" ({_owner(i.get('filepath'))}, {i.get('num_threads')} "
            f"thread{'' if i.get('num_threads') == 1 else 's'} by default)"
            for i in libs))
    return "; ".join(parts) or "BLAS: unknown"


def cpu_model():
    """The CPU model name (Linux ``/proc/cpuinfo``), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or "unknown CPU"


def threads_line(blas_limits, rows):
    """How many threads the timed calls used, as far as the driver can tell."""
    limits = sorted({int(n) for n in blas_limits or () if n is not None})
    has_column = any(r.get("threads") is not None for r in rows)
    if limits:
        counts = " or ".join(str(n) for n in limits)
        text = (f"Threads: BLAS limited to {counts} thread{'s' if limits != [1] else ''} "
                "(threadpoolctl) around the timed calls of both sides")
    else:
        text = "Threads: the libraries' defaults above"
    if has_column:
        text += "; the threads column gives each row's count"
    env = [f"{k}={os.environ[k]}" for k in
           ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
           if os.environ.get(k)]
    if env:
        text += f"; environment: {' '.join(env)}"
    return text + "."


def docs_context(rows, load=None, seconds=None, blas_limits=None):
    """What the generated page says about the run: machine, versions, threads, load.

    Taken right after a family's run (the BLAS and OpenMP libraries its peers
    loaded are then in the process), and stored with the rows by
    ``--json-out`` so that ``--from-json`` can write the page again later.
    ``load``: the 1-minute load averages at the start and end of the run
    (other jobs slow both sides alike, since the calls are interleaved, but
    add noise to the ratios); ``seconds``: its duration; ``blas_limits``: the
    BLAS thread limits the family set (``peers.threads``).
    """
    ctx = {
        "machine": f"{cpu_model()}; {machine_line()}",
        "versions": versions_line(rows),
        "blas": blas_line(),
        "threads": threads_line(blas_limits, rows),
        "load": None,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    if load is not None:
        ctx["load"] = (f"Load average of the machine during the run: {load[0]:.1f} at the "
                       f"start, {load[1]:.1f} at the end"
                       + (f" ({seconds:.0f} s for this family)." if seconds else "."))
    return ctx


def write_docs(name, rows, docs_dir, load=None, seconds=None, blas_limits=None, context=None):
    """Write the generated table (``<name>.inc``) and ratio plot for one family.

    ``context``: from :func:`docs_context` (computed here from ``load``,
    ``seconds`` and ``blas_limits`` when not given).
    """
    ctx = context or docs_context(rows, load, seconds, blas_limits)
    out_dir = Path(docs_dir) / "_generated"
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        ".. This file is written by ``python asv_bench/compare_peers.py --all --write-docs``;",
        "   do not edit it by hand.",
        "",
        f"Machine: {ctx['machine']}.",
        "",
        f"Versions: {ctx['versions']}.",
        "",
        f"{ctx['blas']}.",
        "",
        ctx["threads"],
        "",
    ]
    if ctx.get("load"):
        lines += [ctx["load"], ""]
    summary = family_summary(name, rows)
    if summary:
        lines += summary + [""]
    lines += [
        "Ratio = peer time / sparsecode time: above 1, sparsecode is faster. Every estimator",
        "runs with its defaults unless the method or peer column names a setting.",
        "",
        rst_table(rows),
        "",
    ]
    plotted = _ratio_plot(name, rows, out_dir / f"{name}_ratios.png", date=ctx.get("date"))
    if plotted:
        lines += [f".. image:: _generated/{name}_ratios.png",
                  f"   :alt: speed ratios of the {name} family against its peers", ""]
    (out_dir / f"{name}.inc").write_text("\n".join(lines))


def family_summary(name, rows):
    """The lines of reStructuredText that ``peers.<name>.summary(rows)`` gives
    for the top of the family's page (its targets counted on these rows), or
    none where the module has no ``summary``."""
    module = importlib.import_module(f"peers.{name}")
    summarise = getattr(module, "summary", None)
    return list(summarise(rows)) if summarise is not None else []


def _ratio_plot(name, rows, path, date=None):
    """Horizontal bars of the ratios (log scale, 1 marked); False without matplotlib."""
    import textwrap

    rows = [r for r in rows if r.get("ratio")]
    if not rows:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False

    def label(r):
        # the versions are in the table: "<lib> <version> call" -> "<lib> call",
        # "call [<lib> <version>]" -> "call"
        peer = re.sub(r"\s*\[[^\]]*\]", "", _PEER_NAME.sub(r"\1", str(r["peer"])))
        tail = f" vs {peer}"
        if r.get("threads") not in (None, 1):
            tail += f" ({r['threads']} threads)"
        head = f"{r['problem']}: {r['method']}"
        room = max(210 - len(tail), 40)
        if len(head) > room:
            head = head[:room - 3] + "..."
        return "\n".join(textwrap.wrap(head + tail, 75))

    labels = [label(r) for r in rows]
    values = [float(r["ratio"]) for r in rows]
    heights = [0.22 * (lab.count("\n") + 1) + 0.12 for lab in labels]
    fig, ax = plt.subplots(figsize=(11, sum(heights) + 1.3))
    colors = ["tab:green" if v >= 1 else "tab:red" for v in values]
    y = list(range(len(rows)))
    ax.barh(y, values, color=colors)
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=1)
    for yi, v in zip(y, values):
        text = f"{v:.0f}" if v >= 100 else f"{v:.3g}"
        ax.annotate(text, (v, yi), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7)
    ax.set_xlim(min(min(values), 1.0) / 1.5, max(max(values), 1.0) * 2.5)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("peer time / sparsecode time (log scale; right of 1: sparsecode faster)")
    date = date or time.strftime("%Y-%m-%d", time.gmtime())
    ax.set_title(f"{name}: speed ratios ({date})")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


def _load():
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available
        return float("nan")


def run_family(name, full, blas_limits=None):
    """Import ``peers.<name>`` and return its rows.

    ``blas_limits``, when a list, receives every thread count the family
    passes to ``peers.threads`` (the limits are stated in the docs).
    """
    import peers

    original = peers.threads

    @contextmanager
    def recording_threads(n):
        if blas_limits is not None:
            blas_limits.append(n)
        with original(n):
            yield

    peers.threads = recording_threads  # bound by ``from . import threads`` at import
    try:
        module = importlib.import_module(f"peers.{name}")
        rows = module.run(full=full)
    finally:
        peers.threads = original
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
    parser.add_argument("--all", action="store_true",
                        help="run every family (the default when no --family is given)")
    parser.add_argument("--write-docs", action="store_true",
                        help="write docs/benchmarks/_generated/<family>.inc and "
                        "<family>_ratios.png for every family run")
    parser.add_argument("--full", action="store_true",
                        help="full-size problems and more repeats (slower)")
    parser.add_argument("--markdown-out", metavar="FILE",
                        help="also write the tables (markdown) to FILE")
    parser.add_argument("--json-out", metavar="FILE",
                        help="also write the raw rows (JSON, one list per family) to FILE")
    parser.add_argument("--rst-out", metavar="FILE",
                        help="also write the tables as reStructuredText csv-table "
                        "directives to FILE (for docs/benchmarks/<family>.rst)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="run nothing: take the rows (and the machine, versions, threads "
                        "and load of their run) from FILE, written by --json-out, and "
                        "write the outputs again (e.g. --write-docs after a change of format)")
    args = parser.parse_args(argv)
    if args.from_json:
        return _from_json(args)

    chosen = families if args.all or not args.family else args.family
    out = [f"Machine: {machine_line()}", ""]
    rst = [f"Machine: {machine_line()}", ""]
    raw = {"machine": machine_line(), "families": {}, "context": {}}
    print(out[0], flush=True)
    status = 0
    for name in chosen:
        t0 = time.perf_counter()
        load0 = _load()
        print(f"\n## {name}\n", flush=True)
        blas_limits = []
        try:
            rows = run_family(name, args.full, blas_limits)
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
        ctx = docs_context(rows, (load0, _load()), time.perf_counter() - t0, blas_limits)
        raw["context"][name] = ctx
        if args.write_docs:
            write_docs(name, rows, ROOT / "docs" / "benchmarks", context=ctx)
    if args.markdown_out:
        Path(args.markdown_out).write_text("\n".join(out) + "\n")
    if args.json_out:
        import json

        Path(args.json_out).write_text(json.dumps(raw, indent=1, default=str) + "\n")
    if args.rst_out:
        Path(args.rst_out).write_text("\n".join(rst) + "\n")
    return status


def _from_json(args):
    """``--from-json``: write the requested outputs from saved rows, running nothing."""
    import json

    raw = json.loads(Path(args.from_json).read_text())
    names = [n for n in raw.get("families", {}) if not args.family or n in args.family]
    head = f"Machine: {raw.get('machine', '?')}"
    out, rst = [head, ""], [head, ""]
    for name in names:
        rows = raw["families"][name]
        ctx = raw.get("context", {}).get(name)
        out += [f"## {name}", "", markdown_table(rows), ""]
        rst += [rst_table(rows, title=name), ""]
        print(f"\n## {name}\n\n{markdown_table(rows)}", flush=True)
        if args.write_docs:
            write_docs(name, rows, ROOT / "docs" / "benchmarks", context=ctx)
    if args.markdown_out:
        Path(args.markdown_out).write_text("\n".join(out) + "\n")
    if args.rst_out:
        Path(args.rst_out).write_text("\n".join(rst) + "\n")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(raw, indent=1, default=str) + "\n")
    return 0 if names else 1


if __name__ == "__main__":
    sys.exit(main())
