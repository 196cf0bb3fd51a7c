"""Peer comparisons, one module per family (driven by ``asv_bench/compare_peers.py``).

Each module ``asv_bench/peers/<family>.py`` defines ``run(full=False)``
returning a list of rows (dicts) with the keys

``problem``, ``method``, ``peer``
    what was compared (``peer`` names the library and its version);
``t_ours_s``, ``t_peer_s``
    best wall-clock seconds of one call on the same data, in this process,
    first (compile / import) call excluded; ``t_peer_s`` is ``None`` when the
    peer is not installed;
``ratio``
    ``t_peer_s / t_ours_s`` (above 1: sparsecode is faster), ``None`` when
    the peer is missing;

plus any quality or context keys (``threads``, ``err_ours``, ``err_peer``,
``support_agree``, ``max_coef_diff``, ``peak_mem_ours_MiB``,
``first_call_ours_s``, ``note``, ...), which the driver prints as extra
columns.  Peers are imported inside ``run`` (benchmark-only dependencies):
use :func:`import_peer`, which returns ``None`` for a missing library, and
:func:`missing_row` for the row then.

The helpers below time calls, measure the peak memory of a call and limit
BLAS threads, so that every family measures the same way.
"""

import importlib
import time
import tracemalloc
from contextlib import contextmanager

__all__ = [
    "best_time",
    "best_times_interleaved",
    "first_call",
    "import_peer",
    "missing_row",
    "peak_memory_mib",
    "peer_version",
    "ratio",
    "threads",
]


def import_peer(name):
    """Import the peer module ``name`` or return ``None`` when it is not installed."""
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a broken install counts as missing
        return None


def peer_version(module, dist=None):
    """``"<name> <version>"`` for a peer module (best effort)."""
    from importlib import metadata

    name = dist or module.__name__.split(".")[0]
    try:
        version = metadata.version(dist or name)
    except metadata.PackageNotFoundError:
        version = getattr(module, "__version__", "?")
    return f"{name} {version}"


def missing_row(problem, method, peer, t_ours_s=None, **extra):
    """Row for a peer that is not installed (``t_peer_s`` and ``ratio`` are None)."""
    return dict(problem=problem, method=method, peer=peer, t_ours_s=t_ours_s, t_peer_s=None,
                ratio=None, note="not installed", **extra)


def ratio(t_peer_s, t_ours_s):
    """``t_peer / t_ours`` or ``None`` when either is missing."""
    if t_peer_s is None or t_ours_s is None or t_ours_s <= 0:
        return None
    return t_peer_s / t_ours_s


def best_time(func, repeat=5, min_time=0.0):
    """Best wall-clock time of ``func()`` over ``repeat`` calls; returns ``(seconds, result)``.

    Calls continue past ``repeat`` until ``min_time`` seconds were spent in
    total (cheap calls get more samples).
    """
    best = float("inf")
    out = None
    spent = 0.0
    n = 0
    while n < repeat or spent < min_time:
        t0 = time.perf_counter()
        out = func()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        n += 1
        if n >= 1000:
            break
    return best, out


def best_times_interleaved(funcs, repeat=5, min_time=0.0, pause=0.0):
    """Best time of each of ``funcs`` over rounds that call them in turn.

    On a shared machine the load drifts over seconds; alternating the calls
    (ours, peer, ours, peer, ...) exposes both sides to the same conditions,
    which timing one side after the other does not.  ``pause`` seconds of
    idling before each call let the worker threads of the previous one
    (OpenBLAS and OpenMP spin after their work) go to sleep, so that
    multi-threaded calls do not compete with them.  Returns
    ``(list of best seconds, list of last results)``.
    """
    best = [float("inf")] * len(funcs)
    outs = [None] * len(funcs)
    spent = 0.0
    n = 0
    while n < repeat or spent < min_time:
        for i, f in enumerate(funcs):
            if pause:
                time.sleep(pause)
            t0 = time.perf_counter()
            outs[i] = f()
            dt = time.perf_counter() - t0
            best[i] = min(best[i], dt)
            spent += dt
        n += 1
        if n >= 1000:
            break
    return best, outs


def first_call(func):
    """Seconds of one call of ``func`` (meant for the very first, cold, call)."""
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def peak_memory_mib(func):
    """Peak memory (MiB) allocated during ``func()``, traced by tracemalloc.

    NumPy reports its buffers to tracemalloc, so this counts the arrays a call
    allocates (workspaces, outputs) above what existed before; memory taken
    by C/C++ code outside NumPy (e.g. a peer's own allocator) is not seen.
    """
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - base) / 2**20


@contextmanager
def threads(n):
    """Limit BLAS to ``n`` threads while the block runs (threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield
