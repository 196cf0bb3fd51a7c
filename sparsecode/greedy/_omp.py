"""Orthogonal Matching Pursuit: single signal, batch (Gram) and non-negative.

Implements Cholesky OMP (Pati et al. 1993; spec section 1.4) and Batch-OMP
(Rubinstein, Zibulevsky & Elad 2008; spec section 1.6) through the Cython
kernels of ``sparsecode._ext._omp``, and non-negative OMP (Bruckstein, Elad &
Zibulevsky 2008) through a Numba kernel.
"""

import contextlib
import math
import numbers
import warnings

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._base import ConvergenceWarning, SolverResult
from .._parallel import blas_limited, chunk_size, effective_n_jobs, iter_chunks
from .._validation import (
    Interval,
    Options,
    check_matrix,
    check_n_nonzero_coefs,
    check_targets,
    validate_params,
    validate_X,
    validate_Xy,
)

__all__ = ["OrthogonalMatchingPursuit", "OrthogonalMatchingPursuitCV", "omp", "batch_omp"]

_DEP_TOL = 1e-10  # Cholesky pivot d <= _DEP_TOL * G_jj means linear dependence


def _kernels():
    # Imported lazily so that importing sparsecode loads no extension module.
    from .._ext import _omp

    return _omp


def _work_dtype(dtype):
    # Accumulate in double precision (spec 1.8: a float32 Gram loses
    # orthogonality after ~20 atoms); float32 results are cast back.
    return _C128 if np.dtype(dtype).kind == "c" else _F64


_C128, _F64 = np.dtype(np.complex128), np.dtype(np.float64)


def _default_k(n_nonzero_coefs, tol, n_features):
    if n_nonzero_coefs is None and tol is None:
        return max(int(0.1 * n_features), 1)
    return n_nonzero_coefs


# Power-of-two rescaling (exact: only the exponent changes).  The kernels
# form |a_k^H r|^2 and G = A^H A, which over/underflow once the data are
# beyond ~1e+-77; data whose largest entry lies within 2**+-_SAFE_EXP of 1
# are left untouched, so results there are bitwise what they always were.
_SAFE_EXP = 64


def _pow2_scale(a, axis=None):
    """Power-of-two factor(s) ``s`` with ``max|a| / s`` in [1, 2), or 1 when safe.

    Returns a float (``axis=None``) or an array of factors along the other
    axis.  Zero data get the factor 1.
    """
    if a.size == 0:
        return 1.0 if axis is None else np.ones(a.shape[1 - axis])
    mx = np.abs(a).max(axis=axis)
    if axis is not None and mx.min() >= 2.0 ** -_SAFE_EXP and mx.max() < 2.0 ** (_SAFE_EXP + 1):
        return np.ones(mx.shape)  # every factor is 1 (the common case, decided in 2 reductions)
    e = np.frexp(mx)[1] - 1
    e = np.where(np.abs(e) > _SAFE_EXP, e, 0)
    out = np.ldexp(1.0, e)
    return float(out) if axis is None else out


def _rescale_rows(a, mult, div):
    """``a * mult[:, None, ...] / div`` in the working precision, exactly (powers of two)."""
    shape = (-1,) + (1,) * (a.ndim - 1)
    # in place when ``a`` is already in the working precision (callers pass
    # arrays they own); float32/complex64 go through double precision
    out = a if a.dtype == _work_dtype(a.dtype) else a.astype(_work_dtype(a.dtype))
    out *= np.reshape(mult, shape)
    out /= div
    return out.astype(a.dtype, copy=False)


def _atom_dinv(A_w, name="A"):
    """1 / ||a_j||^2 of the (rescaled) atoms; refuses norms the float range cannot hold."""
    n2 = np.sum(np.abs(A_w) ** 2, axis=0)
    bad = ~np.isfinite(n2) | (n2 == 0)
    if bad.any():
        raise ValueError(
            f"{name}: the atom norms span more than the floating-point range (atom(s) "
            f"{np.flatnonzero(bad)[:5].tolist()} are zero or infinite once the largest is "
            "scaled to 1); normalise the atoms of A first."
        )
    return 1.0 / n2


_FAST_REAL = (np.dtype(np.float64), np.dtype(np.float32))
_FAST_COMPLEX = _FAST_REAL + (np.dtype(np.complex128), np.dtype(np.complex64))


def _finite_sum(a):
    # a sum that overflows (finite data) only sends the data to the full check
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(abs(a.sum()))


def _fast_matrix(A, name, allow_complex):
    """:func:`check_matrix` for what it would return unchanged, in a few microseconds.

    A 2-D, non-empty ndarray of a supported floating dtype whose sum is
    finite (a NaN or an infinity anywhere makes the sum non-finite) is
    returned as is; anything else (lists, other dtypes, non-finite entries,
    sums that overflow) goes through :func:`check_matrix` and its messages.
    """
    if (type(A) is np.ndarray and A.ndim == 2 and A.size
            and A.dtype in (_FAST_COMPLEX if allow_complex else _FAST_REAL)
            and _finite_sum(A)):
        return A
    return check_matrix(A, name, allow_complex=allow_complex)


def _fast_targets(y, n_rows, name, allow_complex):
    """:func:`check_targets` with the fast path of :func:`_fast_matrix`."""
    if (type(y) is np.ndarray and y.ndim in (1, 2) and y.size and y.shape[0] == n_rows
            and y.dtype in (_FAST_COMPLEX if allow_complex else _FAST_REAL)
            and _finite_sum(y)):
        return (y.reshape(-1, 1), True) if y.ndim == 1 else (y, False)
    return check_targets(y, n_rows, name, allow_complex=allow_complex)


def _column_norms2(A):
    """Squared column norms in one pass over ``A`` (no temporaries of its size)."""
    if np.iscomplexobj(A):
        return np.einsum("ij,ij->j", A.real, A.real) + np.einsum("ij,ij->j", A.imag, A.imag)
    return np.einsum("ij,ij->j", A, A)


def _dictionary_scale(A_w, name="A"):
    """``(s_A, dinv)``: the power-of-two factor of ``A_w`` and 1 / ||a_j / s_A||^2.

    One pass over ``A_w`` in the common case: when every squared column
    norm is finite and non-zero and the largest entry, bracketed by
    ``sqrt(max ||a_j||^2 / m) <= max|a_ij| <= max ||a_j||``, lies within the
    range :func:`_pow2_scale` leaves untouched, ``s_A = 1`` exactly as that
    function would decide.  Otherwise (zero or huge/tiny columns) the
    checks and the rescaling of :func:`omp` run as before.
    """
    n2 = _column_norms2(A_w)
    m = A_w.shape[0]
    big = float(n2.max()) if n2.size else 0.0
    if (n2.size and np.isfinite(big) and n2.min() > 0
            and np.sqrt(big) < 2.0 ** (_SAFE_EXP + 1)
            and np.sqrt(big / m) >= 2.0 ** (-_SAFE_EXP)):
        return 1.0, 1.0 / n2
    _check_no_zero_columns(A_w, name)
    s_A = _pow2_scale(A_w)
    return s_A, None


def _user_k_reached(status, nnz, kmax, n_nonzero_coefs, eps):
    """Stopping at the user's ``n_nonzero_coefs`` before ``tol`` is a normal stop.

    The kernels report status 3 ("tol not reached, all atoms used") whenever
    ``tol`` is missed; when the user also gave ``n_nonzero_coefs`` the
    pursuit stops at whichever comes first, so reaching ``k`` is status 0.
    """
    if eps is not None and n_nonzero_coefs is not None:
        status[(status == 3) & (nnz >= kmax)] = 0
    return status


def _check_tol(tol, n_targets, name="tol"):
    """Scalar or per-target squared-residual tolerance -> float64 array or None."""
    if tol is None:
        return None
    t = np.asarray(tol, dtype=np.float64)
    if t.ndim == 0:
        t = np.full(n_targets, float(t))
    if t.shape != (n_targets,):
        raise ValueError(
            f"{name} must be a scalar or have one value per target ({n_targets}); "
            f"got shape {t.shape}."
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"{name} must be finite and >= 0 (a squared residual norm); got {tol!r}.")
    return t


def _summarise_status(status, resid, eps, solver):
    """One warning per call, summarising the per-signal status codes."""
    if status.size == 0 or status.max() < 2:
        return  # every signal stopped normally (codes 0 and 1)
    n_dep = int(np.count_nonzero(status == 2))
    n_tol = int(np.count_nonzero(status == 3))
    total = status.size
    if n_dep:
        warnings.warn(
            f"{solver} stopped early for {n_dep} of {total} signals because of linear "
            "dependence in the dictionary: the next atom lies in the span of the selected "
            "ones. The requested sparsity/precision might not have been met; remove "
            "duplicated atoms or lower n_nonzero_coefs.",
            ConvergenceWarning,
            stacklevel=3,
        )
    if n_tol:
        worst = float(np.max(resid[status == 3] - eps[status == 3])) if eps is not None else 0.0
        warnings.warn(
            f"{solver} could not reach tol for {n_tol} of {total} signals: all available "
            f"atoms were used; the squared residual exceeds tol by up to {worst:.3e}.",
            ConvergenceWarning,
            stacklevel=3,
        )


def _gram_pursuit(G, AtY, ynorm2, *, kmax, eps, positive, n_threads, out_dtype=None,
                  out=None, dinv=None):
    """Run (non-negative) Batch-OMP on the rows of ``AtY`` (L, N).

    ``G`` must already be C-contiguous in the working dtype (float64 or
    complex128).  Codes are scattered into ``out`` (a zeroed (L, N) array,
    allocated when None).  Returns ``out``, the number of atoms, the squared
    residuals and the status codes (all per signal).
    """
    L, N = AtY.shape
    wdt = G.dtype
    kmax = int(kmax)
    if dinv is None:
        dinv = 1.0 / np.real(np.diag(G)).astype(np.float64)
    error_mode = eps is not None
    if out is None:
        out = np.zeros((L, N), dtype=out_dtype)
    nnz = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L, dtype=np.float64)
    status = np.zeros(L, dtype=np.intc)
    aty = np.ascontiguousarray(AtY, dtype=wdt)
    yn = np.ascontiguousarray(ynorm2, dtype=np.float64)
    ep = np.ascontiguousarray(eps if error_mode else np.zeros(L), dtype=np.float64)
    if positive:
        from ._nnomp import run_nnomp_gram

        block = np.zeros((L, N), dtype=np.float64)
        run_nnomp_gram(n_threads, G, aty, dinv, yn, ep, kmax, error_mode, block, nnz,
                       resid, status)
        out[...] = block
        return out, nnz, resid, status
    idx = np.empty((L, max(kmax, 1)), dtype=np.intc)
    val = np.empty((L, max(kmax, 1)), dtype=wdt)
    # The kernel writes straight into ``out`` when dtype and layout allow.
    direct = out.dtype == wdt and out.flags.c_contiguous
    dense = out if direct else np.zeros((1, 1), dtype=wdt)
    # The Batch-OMP kernel calls no BLAS (hand loops), so no thread cap is needed.
    _kernels().batch_omp_gram(G, aty, dinv, yn, ep, kmax, error_mode, _DEP_TOL,
                              n_threads, idx, val, nnz, resid, status, dense, direct)
    if not direct:
        # scatter the sparse (idx, val) rows into the dense block, vectorised
        keep = np.arange(idx.shape[1])[None, :] < nnz[:, None]
        out[np.repeat(np.arange(L), nnz), idx[keep]] = val[keep]
    return out, nnz, resid, status


def _gram_pursuit_chunked(G, AtY, ynorm2, *, kmax, eps, positive, n_threads, out_dtype):
    """:func:`_gram_pursuit` over chunks of signals (bounded work memory)."""
    L, N = AtY.shape
    G = np.ascontiguousarray(G, dtype=_work_dtype(AtY.dtype))
    dinv = 1.0 / np.real(np.diag(G)).astype(np.float64)
    out = np.zeros((L, N), dtype=out_dtype)
    nnz = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L)
    status = np.zeros(L, dtype=np.intc)
    for sl in iter_chunks(L, chunk_size(L, bytes_per_item=16 * (N + 2 * kmax))):
        _, nnz[sl], resid[sl], status[sl] = _gram_pursuit(
            G, AtY[sl], ynorm2[sl], kmax=kmax, eps=None if eps is None else eps[sl],
            positive=positive, n_threads=n_threads, out=out[sl], dinv=dinv)
    return out, nnz, resid, status


# The selection of Cholesky OMP on real data is screened with a float32 copy
# of A (see ``_screened_select`` in _ext/_omp.pyx) from this many iterations
# in all (the copy costs about one product) and up to this many measurements
# (beyond, the a-priori error bound of a float32 dot product is too loose).
_SCREEN_MIN_ITER = 6
_SCREEN_MAX_M = 16384


def _run_nogram_kernel(A, Y_f, dinv, eps_arr, kmax, error_mode, n_threads, idx, val, nnz,
                       resid, status):
    """The Cholesky-OMP kernel on ``A`` as it lies in memory (C order: no copy)."""
    K = _kernels()
    if A.flags.c_contiguous and not A.flags.f_contiguous:
        kernel, A_k = K.omp_nogram_rowmajor, A
    else:
        kernel, A_k = K.omp_nogram, np.asfortranarray(A)
    A32 = None
    if A_k.dtype == np.float64 and kmax * Y_f.shape[1] >= _SCREEN_MIN_ITER \
            and A_k.shape[0] <= _SCREEN_MAX_M:
        # single-precision screening of the selection (exact result, half
        # the memory traffic per product A^T r); the copy costs one pass
        A32 = A_k.astype(np.float32, order="K").ravel(order="K")
    # BLAS runs inside the OpenMP threads: capped to one thread when there
    # are several of them (one signal on one thread may use a threaded BLAS)
    n_threads = min(n_threads, Y_f.shape[1]) if Y_f.shape[1] else 1
    with blas_limited(1) if n_threads > 1 else contextlib.nullcontext():
        kernel(A_k, Y_f, dinv, eps_arr, kmax, error_mode, _DEP_TOL, n_threads, idx, val,
               nnz, resid, status, A32)


def _nogram_pursuit(A, Y, *, kmax, eps, n_threads, out_dtype, dinv=None):
    """Cholesky OMP (no Gram) on the columns of ``Y`` (m, L)."""
    m, N = A.shape
    L = Y.shape[1]
    wdt = _work_dtype(A.dtype)
    A = A.astype(wdt, copy=False)
    Y_f = np.asfortranarray(Y, dtype=wdt)
    if dinv is None:
        dinv = 1.0 / _column_norms2(A)
    error_mode = eps is not None
    eps_arr = eps if error_mode else np.zeros(L)
    idx = np.empty((L, max(kmax, 1)), dtype=np.intc)  # the kernel writes nnz[i] of each row
    val = np.empty((L, max(kmax, 1)), dtype=wdt)
    nnz = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L, dtype=np.float64)
    status = np.zeros(L, dtype=np.intc)
    _run_nogram_kernel(A, Y_f, dinv, np.ascontiguousarray(eps_arr), kmax, error_mode,
                       n_threads, idx, val, nnz, resid, status)
    codes = np.zeros((L, N), dtype=out_dtype)
    if L == 1:
        codes[0, idx[0, :nnz[0]]] = val[0, :nnz[0]]
        return codes, nnz, resid, status
    rows = np.repeat(np.arange(L), nnz)
    cols_mask = np.arange(idx.shape[1])[None, :] < nnz[:, None]
    codes[rows, idx[cols_mask]] = val[cols_mask]
    return codes, nnz, resid, status


# Orthogonalisation fallback (``_omp_qr_one``): an atom is dependent on the
# selected ones when, after two Gram-Schmidt passes, what is left of it is at
# rounding level: ||a_j - Q Q^H a_j|| <= _QR_DEP * max(m, k) * eps * ||a_j||.
_QR_DEP = 10.0


def _omp_qr_one(A, y, dinv, kmax, eps):
    """OMP for one signal by explicit orthogonalisation (CGS2, "twice is enough").

    The kernels' Cholesky update forms the pivot ``d = ||a_j||^2 - ||w||^2``,
    which cancels to rounding once the angle between ``a_j`` and the span of
    the selected atoms is below ~sqrt(eps): they stop with status 2 when
    ``d <= _DEP_TOL ||a_j||^2`` (sin^2 of the angle below 1e-10), which an
    ill-conditioned but independent dictionary reaches (condition 1e8: sin ~
    1e-8).  This path keeps an orthonormal basis ``Q`` of the selected atoms
    (``A_S = Q R``) and reads the angle off the reorthogonalised remainder,
    accurate to ~eps, so it calls an atom dependent only when it is so to
    working precision; the coefficients ``R^{-1} Q^H y`` are accurate to
    ~cond(A_S) eps, like a QR least-squares solve.  Same selection rule and
    status codes as the kernels.  Returns ``(idx, val, resid, status)``.
    """
    m = A.shape[0]
    wdt = np.result_type(A.dtype, y.dtype)
    ynorm2 = float(np.real(np.vdot(y, y)))
    error_mode = eps is not None
    Q = np.zeros((m, max(kmax, 1)), dtype=wdt)
    R = np.zeros((max(kmax, 1), max(kmax, 1)), dtype=wdt)
    z = np.zeros(max(kmax, 1), dtype=wdt)
    mask = np.zeros(A.shape[1], dtype=bool)
    idx = []
    r = y.astype(wdt, copy=True)
    E = ynorm2
    status = 0
    dep = _QR_DEP * max(m, kmax) * np.finfo(np.float64).eps
    if error_mode and E <= eps:
        return np.zeros(0, np.intc), np.zeros(0, wdt), E, 0
    n = 0
    while n < kmax:
        # r is accurate to ~eps ||y|| (reorthogonalised): it is zero when at
        # that level, and a correlation |a_j^H r| / ||a_j|| at rounding level
        # of ||r|| means every remaining atom is in the span (rank reached)
        if E <= dep * dep * ynorm2:
            status = 1
            break
        score = np.abs(A.conj().T @ r) ** 2 * dinv
        score[mask] = -1.0
        j = int(np.argmax(score))
        if score[j] <= dep * dep * E:
            status = 2
            break
        a = A[:, j]
        Qn = Q[:, :n]
        h = Qn.conj().T @ a
        v = a - Qn @ h
        h2 = Qn.conj().T @ v
        v = v - Qn @ h2
        nv = float(np.linalg.norm(v))
        if nv <= dep * float(np.linalg.norm(a)):
            status = 2
            break
        Q[:, n] = v / nv
        R[:n, n] = h + h2
        R[n, n] = nv
        idx.append(j)
        mask[j] = True
        n += 1
        # z = Q^H y and r = y - Q z, reorthogonalised
        Qn = Q[:, :n]
        z[n - 1] = np.vdot(Q[:, n - 1], y)
        r = y - Qn @ z[:n]
        dz = Qn.conj().T @ r
        r = r - Qn @ dz
        z[:n] += dz
        E = float(np.real(np.vdot(r, r)))
        if error_mode and E <= eps:
            break
    if error_mode and E > eps and status == 0:
        status = 3
    val = scipy.linalg.solve_triangular(R[:n, :n], z[:n]) if n else np.zeros(0, wdt)
    return np.asarray(idx, dtype=np.intc), val, E, status


def _redo_dependent(A_w, Y_w, dinv, kmax, eps, codes, nnz, resid, status):
    """Rerun by :func:`_omp_qr_one` the signals a kernel stopped on a dependent
    atom (status 2): their dictionary may only be ill-conditioned.  Updates
    ``codes`` (L, N), ``nnz``, ``resid`` and ``status`` in place; returns the
    {signal: selection order} of the rerun signals.  No cost when none
    stopped so (the common path)."""
    redo = np.flatnonzero(status == 2)
    orders = {}
    for i in redo:
        idx, val, E, st = _omp_qr_one(A_w, Y_w[:, i], dinv, kmax,
                                      None if eps is None else float(eps[i]))
        codes[i] = 0
        codes[i, idx] = val
        nnz[i], resid[i], status[i] = idx.size, E, st
        orders[int(i)] = idx
    return orders


# Cost model of precompute="auto": seconds = flops / rate for each kind of
# work, rates of one core measured on the benchmark machine (x86_64 AMD EPYC,
# OpenBLAS): the Gram A^H A (SYRK, m N^2 flops counted as multiply-adds), a
# GEMM, the Batch-OMP loops on Gram rows (N k^2 per signal), and the
# matrix-vector products A^H r of Cholesky OMP, whose rate is set by where A
# lies: in cache while it is small, memory bandwidth beyond.
_RATE_SYRK = 15e9
_RATE_GEMM = 25e9
_RATE_GRAM_LOOPS = 18e9
_RATE_GEMV_CACHED = 17e9      # A up to _GEMV_CACHED_BYTES
_RATE_GEMV_L3 = 7e9           # A up to _GEMV_L3_BYTES
_RATE_GEMV_MEMORY = 3.3e9     # larger A: streamed from memory
_GEMV_CACHED_BYTES = 12 << 20
_GEMV_L3_BYTES = 48 << 20


def _omp_costs(n_measurements, n_features, n_targets, kmax, itemsize=8):
    """Estimated seconds of the Cholesky path (no Gram) and of the Gram path.

    Flop counts per path (m measurements, N atoms, k atoms per signal, L
    signals):

    - no Gram: ``L (2 m N k + 2 m k^2)``, k products ``A^H r`` (a pass over
      A each, over its float32 copy for real data) plus the refits on the
      support;
    - Gram: ``m N^2`` (the Gram), ``2 m N L`` (the correlations ``A^H Y``,
      one GEMM) and ``L (N k^2 + 6 N k)`` (the Batch-OMP updates).

    Returns ``(t_nogram, t_gram)``; :func:`omp` with ``precompute="auto"``
    takes the cheaper.
    """
    m, N, L, k = (float(n_measurements), float(n_features), float(n_targets),
                  float(max(kmax, 1)))

    def gemv_rate(a_bytes):
        if a_bytes <= _GEMV_CACHED_BYTES:
            return _RATE_GEMV_CACHED
        if a_bytes <= _GEMV_L3_BYTES:
            return _RATE_GEMV_L3
        return _RATE_GEMV_MEMORY

    rate_gemv = gemv_rate(m * N * itemsize)
    if itemsize == 8 and k * L >= _SCREEN_MIN_ITER and m <= _SCREEN_MAX_M:
        # the products A^T r run on a float32 copy: half the bytes per flop
        rate_nogram = 2.0 * gemv_rate(m * N * 4)
    else:
        rate_nogram = rate_gemv
    t_nogram = L * (2 * m * N * k / rate_nogram + 2 * m * k * k / _RATE_GEMV_CACHED)
    rate_corr = _RATE_GEMM if L > 1 else rate_gemv
    t_gram = (m * N * N / _RATE_SYRK + 2 * m * N * L / rate_corr
              + L * (N * k * k + 6 * N * k) / _RATE_GRAM_LOOPS)
    return t_nogram, t_gram


def _resolve_precompute(precompute, n_measurements, n_features, n_targets, kmax,
                        itemsize=8):
    """Whether to use the Gram path: forced by the user, or the cheaper by :func:`_omp_costs`."""
    if precompute == "auto":
        t_nogram, t_gram = _omp_costs(n_measurements, n_features, n_targets, kmax, itemsize)
        return t_gram < t_nogram
    return bool(precompute)


def _plain_params(n_nonzero_coefs, tol, precompute, positive, n_jobs, return_path):
    """True for the common, obviously valid parameter values (validated in
    microseconds); anything else goes through :func:`validate_params`, which
    accepts or explains it."""
    return ((n_nonzero_coefs is None or (type(n_nonzero_coefs) is int and n_nonzero_coefs >= 1))
            and (tol is None or (type(tol) is float and tol >= 0.0))
            and (precompute is True or precompute is False or precompute == "auto"
                 if isinstance(precompute, (bool, str)) else False)
            and (positive is True or positive is False)
            and (n_jobs is None or (type(n_jobs) is int and n_jobs != 0))
            and (return_path is True or return_path is False))


def _one_real_signal(A, y, n_nonzero_coefs, tol, positive, n_jobs):
    """True when ``(A, y)`` may take the lean single-signal lane: float64
    ndarrays, ``y`` 1-D and contiguous, an int sparsity level, no ``tol``, no
    ``positive`` and a plain ``n_jobs`` (one signal runs on one thread)."""
    return (type(A) is np.ndarray and type(y) is np.ndarray and A.ndim == 2 and y.ndim == 1
            and A.dtype == _F64 and y.dtype == _F64 and y.flags.c_contiguous
            and type(n_nonzero_coefs) is int and tol is None and positive is False
            and (n_jobs is None or (type(n_jobs) is int and n_jobs != 0)))


def _single_result(coef, n, resid, status):
    """:func:`_pack`'s result for one 1-D signal."""
    return SolverResult(coef=coef, n_iter=np.int64(n), residual_norm2=np.float64(resid),
                        status=np.intc(status), converged=bool(status <= 1))


def _omp_single_lane(A, y, k, precompute):
    """``omp(A, y)`` for one real float64 signal in one compiled call.

    The checks, the cost model's choice (made with the same costs as the
    general path) and the pursuit without a Gram; None when the Gram path
    is chosen or the data need the general path (its checks, its rescaling,
    its answer to dependence), which then gives the same result.
    """
    m, N = A.shape
    if not 1 <= k <= min(m, N) or precompute is True:
        return None
    if precompute is not False:
        if not (isinstance(precompute, str) and precompute == "auto"):
            return None
        t_nogram, t_gram = _omp_costs(m, N, 1, k)
        if t_gram < t_nogram:
            return None
    if A.flags.f_contiguous:
        A_k, rowmajor = A.T, False  # (N, m) C-ordered view of the same memory
    elif A.flags.c_contiguous:
        A_k, rowmajor = A, True
    else:
        return None
    out = _kernels().omp_single(A_k, rowmajor, y, k, _DEP_TOL,
                                k >= _SCREEN_MIN_ITER and m <= _SCREEN_MAX_M)
    return None if out is None else _single_result(*out)


_OMP_CONSTRAINTS = {
    "n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "tol": [Interval(numbers.Real, 0, None, closed="left"), "array-like", None],
    "precompute": [Options("auto", True, False)],
    "positive": ["boolean"],
    "n_jobs": [Interval(numbers.Integral, None, None), None],
}


def omp(A, y, *, n_nonzero_coefs=None, tol=None, precompute="auto", positive=False,
        n_jobs=None, return_path=False):
    r"""Orthogonal Matching Pursuit for one or many right-hand sides.

    Solves, greedily, :math:`\min_x \|y - Ax\|_2` s.t. :math:`\|x\|_0 \le k`
    (sparsity mode) or :math:`\min_x \|x\|_0` s.t. :math:`\|y - Ax\|_2^2 \le
    \mathrm{tol}` (error mode).

    Parameters
    ----------
    A : array-like of shape (n_measurements, n_features)
        Dictionary / sensing matrix, atoms as columns (scikit-learn's ``X``).
        Real or complex.  Columns need not be normalised (selection uses the
        normalised correlation :math:`|a_j^H r| / \|a_j\|`).  Zero columns
        are refused.  A scipy.sparse matrix is refused with a TypeError:
        pass ``A.toarray()`` (the pursuit works on dense columns).
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Signal(s).
    n_nonzero_coefs : int, default=None
        Maximum number of atoms per signal. Default ``max(0.1 n_features, 1)``
        when ``tol`` is None too, otherwise ``min(n_measurements, n_features)``.
    tol : float or array-like of shape (n_targets,), default=None
        Target squared residual norm :math:`\|r\|_2^2` (error mode).
        **Difference from scikit-learn:** when both ``tol`` and
        ``n_nonzero_coefs`` are given, the pursuit stops at whichever is met
        first (scikit-learn ignores ``n_nonzero_coefs`` when ``tol`` is
        given; pass ``n_nonzero_coefs=None`` for its behaviour).  Reaching
        ``n_nonzero_coefs`` first is a normal stop (no warning).
    precompute : {"auto", True, False}, default="auto"
        Use the Gram matrix (Batch-OMP) or correlations with the residual.
        ``"auto"`` takes the path with the smaller estimated time, from the
        flop counts of both (see Notes) for the given sizes and number of
        right-hand sides.  Both paths select the same atoms and return the
        same coefficients up to rounding.
    positive : bool, default=False
        Non-negative OMP (real data only).
    n_jobs : int, default=None
        Threads over the right-hand sides (OpenMP). Results do not depend on it.
    return_path : bool, default=False
        Also return the coefficients after each step, as scikit-learn's
        ``orthogonal_mp(..., return_path=True)`` (not with ``positive``).

    Returns
    -------
    result : SolverResult
        ``coef`` (n_features,) or (n_features, n_targets) (scikit-learn's
        layout), ``n_iter`` (atoms selected), ``residual_norm2`` (squared
        residual norms), ``status`` (per-target kernel codes), ``converged``.
        With ``return_path``, also ``coef_path`` of shape (n_features,
        n_steps) or (n_features, n_targets, n_steps): slice ``[..., j]``
        holds the least-squares coefficients on the first ``j + 1`` atoms
        selected (a target that stopped earlier keeps its final
        coefficients in the later slices).

    See Also
    --------
    batch_omp : OMP from a precomputed Gram matrix.
    OrthogonalMatchingPursuit : the estimator.

    Notes
    -----
    Cholesky OMP costs :math:`2mNk + 2mk^2 + k^3` flops per signal, its
    :math:`2mNk` in matrix-vector products bound by the memory bandwidth once
    A leaves the cache; Batch-OMP :math:`2mN + Nk^2 + k^3` per signal plus
    the one-off Gram :math:`mN^2`.  ``precompute="auto"`` weighs each count
    by the rate of its kind of work.  A C-ordered ``A`` is used in place
    (no copy) by both paths.  Without the Gram, real data are screened in
    single precision: the products :math:`A^\top r` run on a float32 copy of
    A (half the memory traffic), every atom within the a-priori float32
    error bound of the best is rechecked in double precision, and the atom
    selected is the one double precision selects.
    Data are rescaled internally by powers of two (exactly), so the answer
    scales with the data over the whole floating-point range.

    References
    ----------
    .. [1] Pati, Rezaiifar & Krishnaprasad (1993), "Orthogonal matching pursuit".
    .. [2] Rubinstein, Zibulevsky & Elad (2008), "Efficient implementation of the
       K-SVD algorithm using Batch Orthogonal Matching Pursuit".

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import omp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((30, 60)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(60); x[[3, 17, 40]] = [1.0, -2.0, 1.5]
    >>> res = omp(A, A @ x, n_nonzero_coefs=3)
    >>> np.flatnonzero(res.coef).tolist(), bool(np.allclose(res.coef, x))
    ([3, 17, 40], True)
    >>> path = omp(A, A @ x, n_nonzero_coefs=3, return_path=True).coef_path
    >>> path.shape, [int(np.count_nonzero(path[:, j])) for j in range(3)]
    ((60, 3), [1, 2, 3])
    """
    if return_path is False and _one_real_signal(A, y, n_nonzero_coefs, tol, positive, n_jobs):
        res = _omp_single_lane(A, y, n_nonzero_coefs, precompute)
        if res is not None:
            return res
    if not _plain_params(n_nonzero_coefs, tol, precompute, positive, n_jobs, return_path):
        validate_params(
            dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, precompute=precompute,
                 positive=positive, n_jobs=n_jobs, return_path=return_path),
            {**_OMP_CONSTRAINTS, "return_path": ["boolean"]}, "omp")
    if return_path and positive:
        raise ValueError("return_path=True is not available with positive=True.")
    A = _fast_matrix(A, "A", allow_complex=not positive)
    Y, was_1d = _fast_targets(y, A.shape[0], "y", allow_complex=not positive)
    m, N = A.shape
    L = Y.shape[1]
    k = _default_k(n_nonzero_coefs, tol, N)
    kmax = min(m, N) if k is None else check_n_nonzero_coefs(k, m, N)
    eps = _check_tol(tol, L)
    out_dtype = np.result_type(A.dtype, Y.dtype)
    n_threads = effective_n_jobs(n_jobs)
    wdt = _work_dtype(out_dtype)
    A_w = A.astype(wdt, copy=False)
    Y_w = Y.astype(wdt, copy=False)
    # exact power-of-two rescaling: A by one factor, each signal by its own
    s_A, dinv = _dictionary_scale(A_w)
    s_y = _pow2_scale(Y_w, axis=0)
    if s_A != 1.0:
        A_w = A_w / s_A
    scaled_y = bool(np.any(s_y != 1.0))
    if scaled_y:
        Y_w = Y_w / s_y
    eps_w = None if eps is None else eps / s_y / s_y
    if dinv is None:
        dinv = _atom_dinv(A_w)
    if return_path:
        codes, nnz, resid, status, path = _omp_with_path(
            A_w, Y_w, kmax=kmax, eps=eps_w, n_threads=n_threads, out_dtype=out_dtype,
            dinv=dinv)
    elif positive or _resolve_precompute(precompute, m, N, L, kmax, A_w.itemsize):
        G = A_w.conj().T @ A_w
        AtY = (A_w.conj().T @ Y_w).T
        ynorm2 = np.sum(np.abs(Y_w) ** 2, axis=0)
        codes, nnz, resid, status = _gram_pursuit_chunked(
            G, AtY, ynorm2, kmax=kmax, eps=eps_w, positive=positive, n_threads=n_threads,
            out_dtype=out_dtype)
    else:
        codes, nnz, resid, status = _nogram_pursuit(
            A_w, Y_w, kmax=kmax, eps=eps_w, n_threads=n_threads, out_dtype=out_dtype,
            dinv=dinv)
    if not return_path and not positive and np.any(status == 2):
        # a stop on "dependence" may be ill-conditioning the Cholesky update
        # cannot resolve: redo those signals by explicit orthogonalisation
        _redo_dependent(A_w, Y_w, dinv, kmax, eps_w, codes, nnz, resid, status)
    if s_A != 1.0 or scaled_y:
        # x = x_w * s_y / s_A, one power of two at a time (no overflow of the factor)
        codes = _rescale_rows(codes, s_y, s_A)
        resid = resid * s_y * s_y
        if return_path:
            path = _rescale_rows(path, s_y, s_A)
    status = _user_k_reached(status, nnz, kmax, n_nonzero_coefs, eps)
    _summarise_status(status, resid, eps, "OMP")
    res = _pack(codes, nnz, resid, status, was_1d)
    if return_path:
        # (L, N, steps) -> scikit-learn's (N, steps) or (N, L, steps)
        path = path.astype(out_dtype, copy=False)
        res["coef_path"] = path[0] if was_1d else np.transpose(path, (1, 0, 2))
    return res


def _omp_with_path(A_w, Y_w, *, kmax, eps, n_threads, out_dtype, dinv):
    """Cholesky OMP that also returns the coefficients after each step.

    The kernel gives the atoms in selection order; the iterate after step
    ``j`` is the least-squares fit on the first ``j + 1`` of them, read off
    one QR factorisation per signal (``R[:j+1, :j+1] x = (Q^H y)[:j+1]``).
    """
    m, N = A_w.shape
    L = Y_w.shape[1]
    wdt = A_w.dtype
    error_mode = eps is not None
    idx = np.zeros((L, max(kmax, 1)), dtype=np.intc)
    val = np.zeros((L, max(kmax, 1)), dtype=wdt)
    nnz = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L)
    status = np.zeros(L, dtype=np.intc)
    _run_nogram_kernel(A_w, np.asfortranarray(Y_w), dinv,
                       np.ascontiguousarray(eps if error_mode else np.zeros(L)), kmax,
                       error_mode, n_threads, idx, val, nnz, resid, status)
    for i in np.flatnonzero(status == 2):
        # ill-conditioning or dependence: decide by explicit orthogonalisation
        si, vi, resid[i], status[i] = _omp_qr_one(A_w, Y_w[:, i], dinv, kmax,
                                                  None if eps is None else float(eps[i]))
        nnz[i] = si.size
        idx[i, : si.size] = si
        val[i, : si.size] = vi
    n_steps = max(int(nnz.max()) if L else 0, 1)
    path = np.zeros((L, N, n_steps), dtype=wdt)
    codes = np.zeros((L, N), dtype=out_dtype)
    for i in range(L):
        n = int(nnz[i])
        if n == 0:
            continue
        S = idx[i, :n]
        Q, R = np.linalg.qr(A_w[:, S])
        b = Q.conj().T @ Y_w[:, i]
        for j in range(n):
            path[i, S[: j + 1], j] = scipy.linalg.solve_triangular(R[: j + 1, : j + 1],
                                                                   b[: j + 1])
        path[i, :, n:] = path[i, :, n - 1 : n]
        codes[i, S] = val[i, :n]
    return codes, nnz, resid, status, path


def _check_no_zero_columns(A, name="A"):
    bad = np.flatnonzero(~np.any(A != 0, axis=0))
    if bad.size:
        raise ValueError(
            f"{name} has {bad.size} zero-norm column(s) (atoms) at {bad[:5].tolist()}; "
            "remove them: a zero atom can never be selected."
        )


def _pack(codes, nnz, resid, status, was_1d):
    coef = codes[0] if was_1d else codes.T
    squeeze = (lambda a: a[0]) if was_1d else (lambda a: a)
    return SolverResult(
        coef=coef,
        n_iter=squeeze(nnz.astype(np.int64)),
        residual_norm2=squeeze(resid),
        status=squeeze(status),
        converged=bool((status <= 1).all()),  # codes are 0..3
    )


def batch_omp(gram, Aty, *, n_nonzero_coefs=None, tol=None, norms_squared=None,
              positive=False, n_jobs=None, copy_gram=True):
    r"""Batch-OMP from a precomputed Gram matrix (Rubinstein, Zibulevsky & Elad).

    Never forms a residual: correlations are updated as
    :math:`\alpha = A^H y - G_{:,I}\gamma_I` with a Cholesky factor of
    :math:`G_{I,I}` grown by one row per iteration.  The loop over signals
    runs in compiled code with OpenMP (``n_jobs`` threads) and in chunks, so
    memory stays bounded for millions of signals.

    Parameters
    ----------
    gram : array-like of shape (n_features, n_features)
        :math:`G = A^H A` (Hermitian positive semi-definite).
    Aty : array-like of shape (n_features,) or (n_features, n_targets)
        :math:`A^H y` for each signal (scikit-learn's ``Xy``).
    n_nonzero_coefs : int, default=None
        Atoms per signal; default ``max(0.1 n_features, 1)`` when ``tol`` is None.
    tol : float or array-like of shape (n_targets,), default=None
        Squared residual target (error mode); needs ``norms_squared``.  With
        ``n_nonzero_coefs`` too, the pursuit stops at whichever comes first
        (scikit-learn lets ``tol`` override ``n_nonzero_coefs``).
    norms_squared : array-like of shape (n_targets,), default=None
        :math:`\|y\|_2^2` per signal. Required for ``tol``; when given, the
        squared residuals are also returned.  Without it the pursuit still
        stops once the residual is numerically orthogonal to every atom
        (relative to the energy already explained), so exactly sparse
        signals get exactly their atoms.
    positive : bool, default=False
        Non-negative OMP (real data only).
    n_jobs : int, default=None
        Threads over signals. Results are identical for any value.
    copy_gram : bool, default=True
        Accepted for scikit-learn compatibility; ``gram`` is never modified.

    Returns
    -------
    result : SolverResult
        ``coef`` of shape (n_features,) or (n_features, n_targets), ``n_iter``,
        ``residual_norm2`` (NaN where ``norms_squared`` was not given),
        ``status``, ``converged``.

    See Also
    --------
    omp : OMP from the dictionary itself.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import batch_omp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 50)); A /= np.linalg.norm(A, axis=0)
    >>> X = np.zeros((50, 4)); X[[1, 7], :] = 1.0
    >>> Y = A @ X
    >>> res = batch_omp(A.T @ A, A.T @ Y, n_nonzero_coefs=2)
    >>> res.coef.shape, bool(np.allclose(res.coef, X))
    ((50, 4), True)
    """
    if (_one_real_signal(gram, Aty, n_nonzero_coefs, tol, positive, n_jobs)
            and gram.flags.c_contiguous
            and (norms_squared is None or type(norms_squared) in (float, np.float64))):
        # one real signal: checks and pursuit in one compiled call (None: the
        # data need the general path's checks or rescaling)
        out = _kernels().batch_omp_single(
            gram, Aty, n_nonzero_coefs,
            0.0 if norms_squared is None else float(norms_squared), _DEP_TOL)
        if out is not None:
            coef, n, resid, status = out
            if norms_squared is None:
                resid = np.nan
            if status >= 2:
                _summarise_status(np.array([status]), np.array([resid]), None, "Batch-OMP")
            return _single_result(coef, n, resid, status)
    if not _plain_params(n_nonzero_coefs, tol, "auto", positive, n_jobs, False):
        validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, positive=positive,
                             n_jobs=n_jobs), _OMP_CONSTRAINTS, "batch_omp")
    G = _fast_matrix(gram, "gram", allow_complex=not positive)
    N = G.shape[0]
    if G.shape != (N, N):
        raise ValueError(f"gram must be square; got shape {G.shape}.")
    diag_G = np.real(np.diag(G))
    if not (diag_G > 0).all():
        bad = np.flatnonzero(diag_G <= 0)[:5].tolist()
        raise ValueError(
            f"gram has non-positive diagonal entries at {bad}: zero-norm atoms cannot be "
            "selected; remove them from the dictionary."
        )
    was_1d = np.ndim(Aty) == 1
    Aty_arr = _fast_matrix(np.asarray(Aty).reshape(-1, 1) if was_1d else Aty,
                           "Aty", allow_complex=not positive)
    if Aty_arr.shape[0] != N:
        raise ValueError(
            f"Aty has {Aty_arr.shape[0]} rows but gram is {N}x{N}; Aty must be A^H y with "
            "one row per atom."
        )
    L = Aty_arr.shape[1]
    if norms_squared is not None:
        ynorm2 = np.asarray(norms_squared, dtype=np.float64).reshape(-1)
        if ynorm2.shape != (L,) or not np.all(np.isfinite(ynorm2)) or np.any(ynorm2 < 0):
            raise ValueError(
                f"norms_squared must hold {L} finite non-negative values (one per signal); "
                f"got shape {ynorm2.shape}."
            )
    elif tol is not None:
        raise ValueError("batch_omp in error mode (tol given) needs norms_squared=||y||^2.")
    else:
        ynorm2 = None
    k = _default_k(n_nonzero_coefs, tol, N)
    if k is not None and k > N:
        raise ValueError(f"n_nonzero_coefs={k} is larger than the number of atoms ({N}).")
    kmax = N if k is None else int(k)
    eps = _check_tol(tol, L)
    out_dtype = np.result_type(G.dtype, Aty_arr.dtype)
    wdt = _work_dtype(out_dtype)
    G_w = G.astype(wdt, copy=False)
    Aty_w = Aty_arr.astype(wdt, copy=False)
    # Exact power-of-two rescaling: G = s_A^2 G_w (A = s_A A_w) and, per
    # signal, Aty = s_c Aty_w, i.e. y = (s_c / s_A) y_w and x = x_w s_c / s_A^2.
    e_G = int(np.frexp(np.max(np.real(np.diag(G_w))))[1]) - 1
    e_G -= e_G % 2
    s_A = float(np.ldexp(1.0, e_G // 2)) if abs(e_G) > 2 * _SAFE_EXP else 1.0
    s_c = _pow2_scale(Aty_w, axis=0)
    if s_A != 1.0:
        G_w = G_w / s_A / s_A
    if np.any(s_c != 1.0):
        Aty_w = Aty_w / s_c
    yn = np.zeros(L) if ynorm2 is None else ynorm2 / s_c * s_A / s_c * s_A
    eps_w = None if eps is None else eps / s_c * s_A / s_c * s_A
    codes, nnz, resid, status = _gram_pursuit_chunked(
        G_w, Aty_w.T, yn, kmax=kmax, eps=eps_w, positive=positive,
        n_threads=effective_n_jobs(n_jobs), out_dtype=out_dtype)
    if s_A != 1.0 or np.any(s_c != 1.0):
        codes = _rescale_rows(codes, s_c, s_A * s_A) if abs(e_G) < 1000 else \
            _rescale_rows(_rescale_rows(codes, s_c, s_A), np.ones(L), s_A)
        resid = resid * s_c / s_A * s_c / s_A
    if ynorm2 is None:
        resid = np.full(L, np.nan)
    status = _user_k_reached(status, nnz, kmax, n_nonzero_coefs, eps)
    _summarise_status(status, resid, eps, "Batch-OMP")
    return _pack(codes, nnz, resid, status, was_1d)


def _center(A, Y, fit_intercept):
    if not fit_intercept:
        return A, Y, None, None
    A_mean = A.mean(axis=0)
    Y_mean = Y.mean(axis=0)
    return A - A_mean, Y - Y_mean, A_mean, Y_mean


def _informative_columns(X, fit_intercept):
    """Columns the pursuit can use: not all zero, and not constant when centring.

    A constant column centred is zero (up to the rounding of its mean, which
    would otherwise leave an arbitrary-direction column of size 1e-17 that
    the normalised selection rule could pick): it is never selected.
    """
    if fit_intercept:
        return ~np.all(X == X[:1], axis=0)
    return np.any(X != 0, axis=0)


def _fit_pursuit(solve, X, y, fit_intercept, n_nonzero_coefs):
    """Centre, drop uninformative columns, run ``solve`` and scatter back.

    ``solve(A, Y, k)`` runs the pursuit on the informative columns with the
    sparsity ``k`` clipped to their number.  Returns ``coef`` (n_targets,
    n_features) or (n_features,), ``n_iter``, ``residual_norm2`` and the
    intercept.
    """
    A, Y, A_mean, Y_mean = _center(X, y, fit_intercept)
    keep = _informative_columns(X, fit_intercept)
    Y2 = Y.reshape(Y.shape[0], -1)
    n_targets = Y2.shape[1]
    coef = np.zeros((n_targets, X.shape[1]), dtype=np.result_type(X.dtype, Y.dtype))
    if keep.any():
        k = n_nonzero_coefs
        if k is not None:
            k = min(int(k), int(np.count_nonzero(keep)))
        res = solve(A[:, keep] if not keep.all() else A, Y2, k)
        coef[:, keep] = res.coef.T
        n_iter, resid2 = res.n_iter, res.residual_norm2
    else:
        n_iter = np.zeros(n_targets, dtype=np.int64)
        resid2 = np.sum(np.abs(Y2) ** 2, axis=0)
    if y.ndim == 1:
        coef, n_iter, resid2 = coef[0], int(n_iter[0]), float(resid2[0])
    if fit_intercept:
        intercept = Y_mean - coef @ A_mean
    else:
        intercept = 0.0 if y.ndim == 1 else np.zeros(y.shape[1], dtype=X.dtype)
    return coef, n_iter, resid2, intercept


class OrthogonalMatchingPursuit(MultiOutputMixin, RegressorMixin, BaseEstimator):
    r"""Orthogonal Matching Pursuit (OMP) estimator.

    Greedy sparse recovery: at each step the atom most correlated with the
    residual joins the support and all coefficients on the support are
    refitted by least squares (Cholesky rank-1 updates).  Many targets are
    solved in one compiled batch call (Batch-OMP when the Gram pays off).

    Parameters
    ----------
    n_nonzero_coefs : int, default=None
        Desired number of nonzero coefficients per target. Default
        ``max(0.1 n_features, 1)`` when ``tol`` is None.
    tol : float, default=None
        Maximum squared residual norm (error mode).  **Difference from
        scikit-learn:** ``tol`` does not override ``n_nonzero_coefs``; when
        both are given the pursuit stops when either is met (leave
        ``n_nonzero_coefs=None`` for scikit-learn's behaviour).
    fit_intercept : bool, default=False
        Centre ``X`` and ``y`` before the pursuit and fit an intercept.
        Constant columns (zero once centred) are never selected; with
        ``fit_intercept=False`` all-zero columns are never selected.
    precompute : {"auto", True, False}, default="auto"
        Use the Gram matrix (Batch-OMP).
    positive : bool, default=False
        Non-negative OMP.
    n_jobs : int, default=None
        Threads over targets.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Sparse coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Zero when ``fit_intercept=False``.
    support_ : ndarray of bool, same shape as ``coef_``
        Selected atoms.
    n_iter_ : int or ndarray of shape (n_targets,)
        Number of atoms selected per target.
    residual_norm_ : float or ndarray of shape (n_targets,)
        Final :math:`\|y - Ax\|_2` per target.
    n_nonzero_coefs_ : int or None
        The sparsity level used.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    omp, batch_omp : the functional interface.
    MatchingPursuit : the cheaper, non-orthogonal pursuit.

    Notes
    -----
    Problems solved: :math:`\min \|y - Xw\|_2` s.t. :math:`\|w\|_0 \le k`, or
    :math:`\min \|w\|_0` s.t. :math:`\|y - Xw\|_2^2 \le \mathrm{tol}`.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import OrthogonalMatchingPursuit
    >>> rng = np.random.default_rng(1)
    >>> X = rng.standard_normal((40, 100))
    >>> w = np.zeros(100); w[[5, 50, 90]] = [2.0, -1.0, 3.0]
    >>> est = OrthogonalMatchingPursuit(n_nonzero_coefs=3).fit(X, X @ w)
    >>> np.flatnonzero(est.coef_).tolist()
    [5, 50, 90]
    """

    _parameter_constraints = {
        **_OMP_CONSTRAINTS,
        "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
        "fit_intercept": ["boolean"],
    }

    def __init__(self, *, n_nonzero_coefs=None, tol=None, fit_intercept=False,
                 precompute="auto", positive=False, n_jobs=None):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.positive = positive
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Dictionary / design matrix (dense: a scipy.sparse matrix raises
            a TypeError asking for ``X.toarray()``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target(s).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(), self._parameter_constraints, type(self).__name__)
        X, y = validate_Xy(self, X, y, allow_complex=not self.positive)
        k = _default_k(self.n_nonzero_coefs, self.tol, X.shape[1])
        if k is not None:
            check_n_nonzero_coefs(k, X.shape[0], X.shape[1])

        def solve(A, Y, k_eff):
            return omp(A, Y, n_nonzero_coefs=k_eff, tol=self.tol, precompute=self.precompute,
                       positive=self.positive, n_jobs=self.n_jobs)

        coef, n_iter, resid2, intercept = _fit_pursuit(solve, X, y, self.fit_intercept, k)
        self.n_nonzero_coefs_ = k
        self.coef_ = coef
        self.support_ = self.coef_ != 0
        self.n_iter_ = n_iter
        self.residual_norm_ = np.sqrt(resid2)
        self.intercept_ = intercept
        return self

    def predict(self, X):
        """Predict with the sparse linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions ``X @ coef_.T + intercept_``.
        """
        check_is_fitted(self)
        X = validate_X(self, X, allow_complex=True)
        return X @ self.coef_.T + self.intercept_


class _CVConstraint:
    """``cv``: None, an int >= 2, a splitter with ``split`` or an iterable of splits."""

    def is_satisfied_by(self, value):
        if value is None or hasattr(value, "split"):
            return True
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            return value >= 2
        return hasattr(value, "__iter__") and not isinstance(value, str)

    def __str__(self):
        return "None, an int >= 2, a CV splitter or an iterable of (train, test) splits"


def _omp_path_residues(X_train, y_train, X_test, y_test, fit_intercept, max_iter):
    """Test residues (n_steps, n_test) of the OMP path fitted on the training fold."""
    A, Y, A_mean, Y_mean = _center(X_train, y_train, fit_intercept)
    if fit_intercept:
        X_test = X_test - A_mean
        y_test = y_test - Y_mean
    keep = _informative_columns(X_train, fit_intercept)
    n_keep = int(np.count_nonzero(keep))
    if n_keep == 0:
        return -y_test[None, :]
    k = max(1, min(max_iter, n_keep, A.shape[0]))
    path = omp(A[:, keep], Y, n_nonzero_coefs=k, precompute=False, return_path=True).coef_path
    coefs = np.zeros((X_train.shape[1], path.shape[1]), dtype=path.dtype)
    coefs[keep] = path
    return coefs.T @ X_test.T - y_test


class OrthogonalMatchingPursuitCV(RegressorMixin, BaseEstimator):
    r"""Orthogonal Matching Pursuit with n_nonzero_coefs chosen by cross-validation.

    The estimator of scikit-learn's ``OrthogonalMatchingPursuitCV``.
    Chooses ``n_nonzero_coefs`` by cross-validation over the OMP path: on
    each training fold one pursuit gives the coefficients after every step
    (:func:`omp` with ``return_path=True``); the number of atoms with the
    smallest mean squared test error over the folds is refitted on all data.

    Parameters
    ----------
    copy : bool, default=True
        Accepted for scikit-learn compatibility; inputs are never modified.
    fit_intercept : bool, default=True
        Centre the data (per training fold) and fit an intercept.  Constant
        columns are never selected.
    max_iter : int, default=None
        Largest number of atoms tried; default ``min(max(int(0.1 *
        n_features), 5), n_features)`` as in scikit-learn.  It is further
        limited, per fold, by the number of training samples.
    cv : int, cross-validation generator or iterable, default=None
        Splitting strategy, as in scikit-learn (None: 5-fold).
    n_jobs : int, default=None
        Folds computed in parallel threads (None = 1, -1 = all cores).
    verbose : bool or int, default=False
        Verbosity of the fold loop (joblib).

    Attributes
    ----------
    intercept_ : float
        Independent term.
    coef_ : ndarray of shape (n_features,)
        Coefficients refitted with ``n_nonzero_coefs_`` atoms.
    n_nonzero_coefs_ : int
        The number of atoms chosen by cross-validation.
    n_iter_ : int
        Atoms selected in the final fit.
    mse_path_ : ndarray of shape (n_steps, n_folds)
        Mean squared test error of each fold after each step.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen in ``fit`` (when ``X`` has string column names).

    See Also
    --------
    OrthogonalMatchingPursuit : OMP with a given sparsity or tolerance.
    omp : the function, with ``return_path``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import OrthogonalMatchingPursuitCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 20))
    >>> y = X[:, [2, 7, 11]] @ np.array([3.0, -2.0, 1.5]) + 0.1 * rng.standard_normal(100)
    >>> est = OrthogonalMatchingPursuitCV(cv=5).fit(X, y)
    >>> est.n_nonzero_coefs_, np.flatnonzero(est.coef_).tolist()
    (3, [2, 7, 11])
    """

    _parameter_constraints = {
        "copy": ["boolean"],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "cv": [_CVConstraint()],
        "n_jobs": [Interval(numbers.Integral, None, None), None],
        "verbose": ["boolean", Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(self, *, copy=True, fit_intercept=True, max_iter=None, cv=None, n_jobs=None,
                 verbose=False):
        self.copy = copy
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.cv = cv
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y):
        """Fit the model, choosing ``n_nonzero_coefs`` by cross-validation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (dense; a scipy.sparse matrix raises a TypeError
            asking for ``X.toarray()``).
        y : array-like of shape (n_samples,)
            Target values.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        from joblib import Parallel, delayed
        from sklearn.model_selection import check_cv
        from sklearn.utils.validation import validate_data

        validate_params(self.get_params(), self._parameter_constraints, type(self).__name__)
        n_threads = effective_n_jobs(self.n_jobs)
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_features=2,
                             dtype=[np.float64, np.float32])
        cv = check_cv(self.cv, classifier=False)
        n_features = X.shape[1]
        max_iter = (min(max(int(0.1 * n_features), 5), n_features) if not self.max_iter
                    else self.max_iter)
        # One BLAS cap around the whole fold loop: the pursuits cap BLAS
        # themselves, and nested caps entered from several threads only
        # restore consistently inside an outer one.
        with blas_limited(1):
            folds = Parallel(n_jobs=n_threads, verbose=self.verbose, prefer="threads")(
                delayed(_omp_path_residues)(X[train], y[train], X[test], y[test],
                                            self.fit_intercept, max_iter)
                for train, test in cv.split(X)
            )
        min_early_stop = min(fold.shape[0] for fold in folds)
        mse_folds = np.array([(fold[:min_early_stop] ** 2).mean(axis=1) for fold in folds])
        best = int(np.argmin(mse_folds.mean(axis=0))) + 1
        self.mse_path_ = mse_folds.T
        final = OrthogonalMatchingPursuit(n_nonzero_coefs=min(best, X.shape[0]),
                                          fit_intercept=self.fit_intercept).fit(X, y)
        self.n_nonzero_coefs_ = best
        self.coef_ = final.coef_
        self.intercept_ = final.intercept_
        self.n_iter_ = final.n_iter_
        return self

    def predict(self, X):
        """Predict with the cross-validated sparse linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions ``X @ coef_ + intercept_``.
        """
        check_is_fitted(self)
        X = validate_X(self, X)
        return X @ self.coef_ + self.intercept_
