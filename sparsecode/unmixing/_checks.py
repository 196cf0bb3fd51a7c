"""Input handling shared by the unmixing family: cubes, non-negativity, masks."""

import numbers

import numpy as np
import scipy.sparse as sp

from .._validation import check_matrix

__all__ = ["as_pixels", "check_mask", "check_n_endmembers", "check_nonnegative"]


def as_pixels(Y, name="Y", *, allow_nan=False, check_finite=True):
    """Return ``(X, image_shape)``: X of shape (n_pixels, n_bands) float, finite.

    A cube of shape (rows, cols, bands) is flattened row-major (numpy ``C``
    order: pixel ``i * cols + j``), and ``image_shape = (rows, cols)``;
    a matrix gives ``image_shape = None``.  ``check_finite=False`` leaves the
    finiteness check to the caller (a kernel whose own pass over the data
    detects NaN and infinity), saving a pass.
    """
    if sp.issparse(Y):
        raise TypeError(f"{name} must be a dense array; got a scipy.sparse matrix.")
    arr = np.asarray(Y) if not hasattr(Y, "ndim") else Y
    if arr.ndim == 3:
        rows, cols, bands = arr.shape
        arr = np.reshape(arr, (rows * cols, bands))
        image_shape = (int(rows), int(cols))
    elif arr.ndim == 2:
        image_shape = None
    else:
        raise ValueError(
            f"{name} must be a matrix (n_pixels, n_bands) or a cube (rows, cols, bands); "
            f"got an array of shape {np.shape(arr)} ({arr.ndim}-D)."
            + (" Reshape your data: Y.reshape(-1, 1) for one band or Y.reshape(1, -1) for one "
               "pixel." if arr.ndim == 1 else "")
        )
    X = _check_float(arr, name, allow_nan=allow_nan, check_finite=check_finite)
    return X, image_shape


def _check_float(arr, name, allow_nan=False, check_finite=True):
    if check_finite and not allow_nan:
        return check_matrix(arr, name)
    from sklearn.utils import check_array

    return check_array(arr, dtype=[np.float64, np.float32],
                       ensure_all_finite="allow-nan" if check_finite else False,
                       input_name=name)


def check_nonnegative(X, name="Y"):
    """Refuse negative entries (NaN entries are ignored here)."""
    with np.errstate(invalid="ignore"):
        neg = X < 0
    if np.any(neg):
        i, j = np.argwhere(neg)[0]
        raise ValueError(
            f"Negative values in data passed to {name}: {name} must be non-negative "
            f"(reflectance/radiance data); found "
            f"{int(neg.sum())} negative entries, e.g. {name}[{i}, {j}] = {X[i, j]!r}. "
            f"Clip or offset the data first."
        )
    return X


def check_n_endmembers(k, n_pixels, n_bands, name="n_components"):
    """Number of endmembers: an int in [1, min(n_bands, n_pixels)]."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"{name} must be a positive int; got {k!r}.")
    if k > n_bands:
        raise ValueError(
            f"{name}={k} is larger than the number of bands ({n_bands}): the linear "
            f"mixing model cannot identify more endmembers than bands."
        )
    if k > n_pixels:
        raise ValueError(f"{name}={k} is larger than the number of pixels ({n_pixels}).")
    return int(k)


def check_mask(mask, shape, image_shape, name="mask"):
    """Boolean mask of bad entries, broadcast to ``shape`` (n_pixels, n_bands).

    Accepted: the data's shape, the cube's shape, ``(n_bands,)`` (bad bands) or
    ``(n_pixels,)`` / ``(rows, cols)`` (bad pixels).  True marks an entry the fit ignores.
    """
    m = np.asarray(mask)
    if m.dtype != bool:
        raise ValueError(f"{name} must be a boolean array (True = ignore); got dtype {m.dtype}.")
    n, L = shape
    if m.shape == (n, L):
        out = m
    elif image_shape is not None and m.shape == tuple(image_shape) + (L,):
        out = m.reshape(n, L)
    elif m.shape == (L,) and m.shape != (n,):
        out = np.broadcast_to(m[None, :], (n, L))
    elif m.shape == (n,):
        out = np.broadcast_to(m[:, None], (n, L))
    elif image_shape is not None and m.shape == tuple(image_shape):
        out = np.broadcast_to(m.reshape(n)[:, None], (n, L))
    else:
        raise ValueError(
            f"{name} has shape {m.shape}; expected {(n, L)}, (n_bands,)=({L},) or "
            f"(n_pixels,)=({n},)" + (f" or the cube shape {tuple(image_shape) + (L,)}"
                                     if image_shape is not None else "") + "."
        )
    out = np.ascontiguousarray(out)
    # a fully masked band or pixel is fine (it is simply not used), all of them is not
    if out.all():
        raise ValueError(f"{name} masks every entry; nothing is left to fit.")
    return out
