# cython: language_level=3
"""Exact proximal operator of the 1-D total variation (Condat's direct algorithm).

For every column ``y`` of ``Y`` compute

    x = argmin_x  1/2 ||x - y||^2 + lam * sum_i |x_{i+1} - x_i|

with L. Condat, "A direct algorithm for 1D total variation denoising", IEEE
Signal Processing Letters 20(11), 2013.  The algorithm runs along the signal
once, keeping the range ``[vmin, vmax]`` of values the current segment may
still take and the dual variable at its two ends; when the range becomes
empty a segment is closed and the scan restarts after it.  The worst case is
O(n^2) but the observed cost is linear in ``n``; the result is exact (no
iteration, no tolerance).
"""
from cython cimport floating
from cython.parallel cimport prange


cdef void _condat(const floating* y, floating* x, Py_ssize_t width,
                  double lam) noexcept nogil:
    cdef Py_ssize_t k = 0, k0 = 0, kplus = 0, kminus = 0
    cdef double umin = lam, umax = -lam
    cdef double vmin = y[0] - lam, vmax = y[0] + lam
    cdef double twolam = 2.0 * lam, minlam = -lam
    if width <= 0:
        return
    if width == 1 or lam <= 0.0:
        for k in range(width):
            x[k] = y[k]
        return
    while True:
        while k == width - 1:
            # right boundary: close the remaining segments
            if umin < 0.0:
                # vmin too high: negative jump
                while True:
                    x[k0] = <floating>vmin
                    k0 += 1
                    if k0 > kminus:
                        break
                k = k0
                kminus = k0
                vmin = y[k0]
                umin = lam
                umax = vmin + umin - vmax
            elif umax > 0.0:
                # vmax too low: positive jump
                while True:
                    x[k0] = <floating>vmax
                    k0 += 1
                    if k0 > kplus:
                        break
                k = k0
                kplus = k0
                vmax = y[k0]
                umax = minlam
                umin = vmax + umax - vmin
            else:
                vmin += umin / (k - k0 + 1)
                while True:
                    x[k0] = <floating>vmin
                    k0 += 1
                    if k0 > k:
                        break
                return
        umin += y[k + 1] - vmin
        if umin < minlam:
            # negative jump
            while True:
                x[k0] = <floating>vmin
                k0 += 1
                if k0 > kminus:
                    break
            k = k0
            kplus = k0
            kminus = k0
            vmin = y[k0]
            vmax = vmin + twolam
            umin = lam
            umax = minlam
            continue
        umax += y[k + 1] - vmax
        if umax > lam:
            # positive jump
            while True:
                x[k0] = <floating>vmax
                k0 += 1
                if k0 > kplus:
                    break
            k = k0
            kplus = k0
            kminus = k0
            vmax = y[k0]
            vmin = vmax - twolam
            umin = lam
            umax = minlam
            continue
        # no jump: extend the segment
        k += 1
        if umin >= lam:
            kminus = k
            vmin += (umin - lam) / (kminus - k0 + 1)
            umin = lam
        if umax <= minlam:
            kplus = k
            vmax += (umax + lam) / (kplus - k0 + 1)
            umax = minlam


def tv1d_prox_columns(const floating[:, ::1] Yt, floating[:, ::1] Xt, const double[::1] lam,
                      int n_threads=1):
    """Condat's 1-D TV prox on every row of ``Yt`` (one signal per row).

    Parameters
    ----------
    Yt : ndarray of shape (n_signals, n), C-contiguous, float32 or float64
        Signals, one per row.
    Xt : ndarray of shape (n_signals, n), same dtype
        Output, one denoised signal per row.
    lam : ndarray of shape (n_signals,), float64
        Non-negative penalty of each signal.
    n_threads : int, default=1
        OpenMP threads over signals.
    """
    cdef Py_ssize_t s, n_sig = Yt.shape[0], n = Yt.shape[1]
    if n == 0 or n_sig == 0:
        return
    if n_threads <= 1 or n_sig == 1:
        with nogil:
            for s in range(n_sig):
                _condat(&Yt[s, 0], &Xt[s, 0], n, lam[s])
    else:
        with nogil:
            for s in prange(n_sig, num_threads=n_threads, schedule="static"):
                _condat(&Yt[s, 0], &Xt[s, 0], n, lam[s])
