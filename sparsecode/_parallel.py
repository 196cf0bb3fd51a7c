"""Threads and chunks: ``n_jobs`` to a thread count, BLAS limits, chunking.

Batch kernels run OpenMP over signals; BLAS is capped with threadpoolctl
inside those calls so that the two never oversubscribe the cores.
"""

import os
from contextlib import contextmanager

__all__ = ["effective_n_jobs", "blas_limited", "iter_chunks", "chunk_size"]


def effective_n_jobs(n_jobs):
    """Number of threads for ``n_jobs`` (scikit-learn meaning: None=1, -1=all).

    ``n_jobs=0`` has no meaning and raises ``ValueError``, as in scikit-learn
    and joblib; ``-2`` is all cores but one, and so on.

    Examples
    --------
    >>> from sparsecode._parallel import effective_n_jobs
    >>> effective_n_jobs(None), effective_n_jobs(2)
    (1, 2)
    """
    if n_jobs is None:
        return 1
    if n_jobs == 0:
        raise ValueError(
            f"n_jobs={n_jobs!r} is not valid: use None or 1 for one thread, a positive int "
            "for that many threads, or -1 for all cores."
        )
    n_cpu = os.cpu_count() or 1
    try:
        n_cpu = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        pass
    if n_jobs < 0:
        return max(n_cpu + 1 + n_jobs, 1)
    return int(n_jobs)


_CONTROLLER = None


def _blas_controller():
    """One cached ``threadpoolctl.ThreadpoolController`` (scanning the loaded
    libraries costs milliseconds, so it is done once; rescanned while no BLAS
    library has been seen, e.g. when the first call came before numpy's BLAS
    was loaded)."""
    global _CONTROLLER
    if _CONTROLLER is None or not _CONTROLLER.select(user_api="blas").lib_controllers:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextmanager
def blas_limited(n_threads=1):
    """Cap BLAS threads while a parallel kernel runs (no oversubscription).

    Same effect as ``threadpoolctl.threadpool_limits(n_threads, user_api="blas")``
    (limits restored on exit), through a cached controller: a few microseconds
    per call instead of a rescan of the loaded libraries.

    Examples
    --------
    >>> from sparsecode._parallel import blas_limited
    >>> with blas_limited(1):
    ...     pass
    """
    with _blas_controller().limit(limits=n_threads, user_api="blas"):
        yield


def chunk_size(n_items, bytes_per_item, budget_bytes=256 * 2**20, minimum=256):
    """Items per chunk so that a chunk's work arrays fit in ``budget_bytes``."""
    size = max(int(budget_bytes // max(bytes_per_item, 1)), minimum)
    return min(size, max(n_items, 1))


def iter_chunks(n_items, size):
    """Yield ``slice`` objects covering ``range(n_items)`` in chunks of ``size``."""
    for start in range(0, n_items, size):
        yield slice(start, min(start + size, n_items))
