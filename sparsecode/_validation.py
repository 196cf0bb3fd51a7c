"""Shared input checks: parameters, arrays, operators, dictionaries.

Every estimator and function validates through these helpers, so that every
family gives the same clear errors: they name the argument, say what was
expected and what was received.  Inputs are never written to (read-only and
memory-mapped arrays work).

The parameter-constraint machinery is a small version of scikit-learn's
private ``sklearn.utils._param_validation`` (we do not import privates).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from sklearn.utils import check_array, check_random_state  # noqa: F401 (re-export)

__all__ = [
    "Interval",
    "Options",
    "validate_params",
    "check_matrix",
    "check_targets",
    "check_operator",
    "check_dictionary",
    "check_n_nonzero_coefs",
    "check_finite_scalar",
    "result_dtype",
    "FLOAT_DTYPES",
    "FLOAT_COMPLEX_DTYPES",
]

FLOAT_DTYPES = (np.float64, np.float32)
FLOAT_COMPLEX_DTYPES = (np.float64, np.float32, np.complex128, np.complex64)


# --------------------------------------------------------------------------
# parameter constraints
# --------------------------------------------------------------------------
class Interval:
    """A numeric range constraint, e.g. ``Interval(numbers.Real, 0, None, closed="left")``.

    Parameters
    ----------
    kind : type
        ``numbers.Integral`` or ``numbers.Real``.
    left, right : float or None
        Bounds; ``None`` means unbounded.
    closed : {"both", "left", "right", "neither"}
        Which bounds are included.

    Examples
    --------
    >>> import numbers
    >>> from sparsecode._validation import Interval
    >>> Interval(numbers.Real, 0, 1, closed="right").is_satisfied_by(0.5)
    True
    >>> str(Interval(numbers.Integral, 1, None, closed="left"))
    'an int in the range [1, inf)'
    """

    def __init__(self, kind, left, right, *, closed="both"):
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value):
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind is numbers.Integral and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real) or not np.isfinite(value):
            return False
        lo_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        hi_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return lo_ok and hi_ok

    def __str__(self):
        kind = "an int" if self.kind is numbers.Integral else "a float"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        lo = "-inf" if self.left is None else repr(self.left)
        hi = "inf" if self.right is None else repr(self.right)
        return f"{kind} in the range {lb}{lo}, {hi}{rb}"


class Options:
    """A set of allowed values (strings, ``None``, booleans, ...).

    Examples
    --------
    >>> from sparsecode._validation import Options
    >>> Options("auto", True, False).is_satisfied_by("auto")
    True
    """

    def __init__(self, *values):
        self.values = values

    def is_satisfied_by(self, value):
        return any(value is v or (type(value) is type(v) and value == v) for v in self.values)

    def __str__(self):
        return "one of " + ", ".join(repr(v) for v in self.values)


def _type_ok(constraint, value):
    if constraint is None:
        return value is None
    if constraint == "array-like":
        return hasattr(value, "__len__") or hasattr(value, "shape")
    if constraint == "random_state":
        return value is None or isinstance(value, (numbers.Integral, np.random.RandomState,
                                                   np.random.Generator))
    if constraint == "callable":
        return callable(value)
    if constraint == "boolean":
        return isinstance(value, (bool, np.bool_))
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    return constraint.is_satisfied_by(value)


def _describe(constraint):
    if constraint is None:
        return "None"
    if isinstance(constraint, str):
        return {"array-like": "an array-like", "random_state": "an int, RandomState, Generator or None",
                "callable": "a callable", "boolean": "a bool"}[constraint]
    if isinstance(constraint, type):
        return f"an instance of {constraint.__name__}"
    return str(constraint)


def validate_params(params, constraints, owner):
    """Check each ``params[name]`` against ``constraints[name]`` (a list).

    Raises
    ------
    ValueError
        Naming the parameter, the expected forms and the value received.

    Examples
    --------
    >>> import numbers
    >>> from sparsecode._validation import Interval, validate_params
    >>> validate_params({"tol": -1.0}, {"tol": [Interval(numbers.Real, 0, None)]}, "omp")
    Traceback (most recent call last):
        ...
    ValueError: The 'tol' parameter of omp must be a float in the range [0, inf); got -1.0.
    """
    for name, allowed in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(_type_ok(c, value) for c in allowed):
            continue
        forms = " or ".join(_describe(c) for c in allowed)
        raise ValueError(f"The {name!r} parameter of {owner} must be {forms}; got {value!r}.")


def check_finite_scalar(value, name, *, low=None, low_inclusive=True):
    """Check a real scalar is finite and above ``low``; return it as float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number; got {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}.")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}; got {value!r}.")
    return value


# --------------------------------------------------------------------------
# arrays
# --------------------------------------------------------------------------
def result_dtype(*arrays, allow_complex=True):
    """Common floating dtype: float32 only if every input is float32/complex64."""
    kinds = [np.asarray(a).dtype if not hasattr(a, "dtype") else a.dtype for a in arrays]
    is_complex = any(np.issubdtype(k, np.complexfloating) for k in kinds)
    single = all(k in (np.float32, np.complex64) for k in kinds)
    if is_complex and allow_complex:
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


def check_matrix(A, name="A", *, allow_complex=False, accept_sparse=False, dtype=None,
                 order=None, ensure_2d=True, min_samples=1, min_features=1, copy=False):
    """Validate a 2-D array: finite, non-empty, floating, optionally complex.

    Thin wrapper over :func:`sklearn.utils.check_array` that puts ``name`` in
    every error and refuses complex data where the math does not hold.
    """
    if sp.issparse(A) and not accept_sparse:
        raise TypeError(
            f"{name} is a scipy.sparse matrix, which this solver does not accept; "
            f"pass a dense array ({name}.toarray())."
        )
    if dtype is None:
        dtype = list(FLOAT_COMPLEX_DTYPES if allow_complex else FLOAT_DTYPES)
    arr_dtype = getattr(A, "dtype", None)
    if arr_dtype is None:
        A = np.asarray(A)
        arr_dtype = A.dtype
    if np.issubdtype(arr_dtype, np.complexfloating) and not allow_complex:
        raise ValueError(f"{name} is complex ({arr_dtype}); this solver needs real data.")
    if arr_dtype == object:
        raise ValueError(f"{name} must be numeric; got an array of dtype object.")
    if np.issubdtype(arr_dtype, np.complexfloating):
        return _check_complex(A, name, dtype, order, copy, ensure_2d, min_samples, min_features)
    try:
        out = check_array(
            A, accept_sparse=accept_sparse, dtype=dtype, order=order, copy=copy,
            ensure_2d=ensure_2d, ensure_min_samples=min_samples,
            ensure_min_features=min_features if ensure_2d else 0,
            ensure_all_finite=True, input_name=name,
        )
    except ValueError as exc:
        msg = str(exc)
        if name not in msg:
            msg = f"{name}: {msg}"
        raise ValueError(msg) from None
    return out


def _check_complex(A, name, dtype, order, copy, ensure_2d, min_samples, min_features):
    # scikit-learn's check_array refuses complex data; same checks by hand.
    A = np.asarray(A)
    if ensure_2d and A.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got an array of shape {A.shape}.")
    if A.ndim >= 1 and A.shape[0] < min_samples:
        raise ValueError(f"{name} is empty (shape {A.shape}); at least {min_samples} row(s) needed.")
    if ensure_2d and A.shape[1] < min_features:
        raise ValueError(f"{name} is empty (shape {A.shape}); at least {min_features} column(s) needed.")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"Input {name} contains NaN or infinity.")
    target = np.complex64 if A.dtype == np.complex64 else np.complex128
    if dtype is not None and not isinstance(dtype, (list, tuple)):
        target = dtype
    out = np.asarray(A, dtype=target, order=order)
    if copy and np.may_share_memory(out, A):
        out = out.copy(order="K")
    return out


def check_targets(y, n_rows, name="y", *, allow_complex=False, dtype=None):
    """Validate right-hand sides: 1-D (n_rows,) or 2-D (n_rows, n_targets).

    Returns
    -------
    Y : ndarray of shape (n_rows, n_targets)
    was_1d : bool
    """
    if sp.issparse(y):
        raise TypeError(
            f"{name} must be a dense array; got a scipy.sparse matrix: pass {name}.toarray()."
        )
    y_arr = np.asarray(y)
    if y_arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D; got an array of shape {y_arr.shape}.")
    was_1d = y_arr.ndim == 1
    Y = check_matrix(y_arr.reshape(-1, 1) if was_1d else y_arr, name,
                     allow_complex=allow_complex, dtype=dtype)
    if Y.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {Y.shape[0]} rows but the matrix has {n_rows} rows "
            f"(measurements); they must agree."
        )
    return Y, was_1d


def check_operator(A, name="A", *, allow_complex=True):
    """Accept a dense array, a scipy.sparse matrix or a LinearOperator.

    Dense and sparse inputs are validated (finite, floating); a
    LinearOperator is checked for a 2-D shape and a usable ``rmatvec``.

    Returns
    -------
    op : ndarray, sparse matrix or LinearOperator
    """
    if isinstance(A, LinearOperator):
        if len(A.shape) != 2 or min(A.shape) < 1:
            raise ValueError(f"{name} must have a 2-D non-empty shape; got {A.shape}.")
        return A
    return check_matrix(A, name, allow_complex=allow_complex, accept_sparse=("csc", "csr"))


def check_dictionary(D, name="dictionary", *, allow_complex=False, atoms_as_rows=True,
                     dtype=None):
    """Validate a dictionary and refuse zero-norm atoms.

    Parameters
    ----------
    D : array-like
        Atoms as rows (``atoms_as_rows=True``, scikit-learn's ``components_``)
        or as columns.
    """
    D = check_matrix(D, name, allow_complex=allow_complex, dtype=dtype)
    # No arithmetic: a norm underflows (float32 at 1e-30) or overflows (1e200).
    bad = np.flatnonzero(~np.any(D != 0, axis=1 if atoms_as_rows else 0))
    if bad.size:
        what = "row" if atoms_as_rows else "column"
        raise ValueError(
            f"{name} has {bad.size} zero-norm atom(s) ({what} index {bad[:5].tolist()}"
            f"{'...' if bad.size > 5 else ''}); remove them or replace them with non-zero atoms."
        )
    return D


def check_n_nonzero_coefs(n_nonzero_coefs, n_measurements, n_features, name="n_nonzero_coefs"):
    """Check a sparsity level: an int in [1, min(n_measurements, n_features)]."""
    if isinstance(n_nonzero_coefs, (bool, np.bool_)) or not isinstance(
        n_nonzero_coefs, numbers.Integral
    ):
        raise ValueError(f"{name} must be a positive int; got {n_nonzero_coefs!r}.")
    k = int(n_nonzero_coefs)
    if k < 1:
        raise ValueError(f"{name} must be >= 1; got {k}.")
    if k > n_measurements:
        raise ValueError(
            f"{name}={k} is larger than the number of measurements ({n_measurements}); "
            f"at most {n_measurements} coefficients can be identified."
        )
    if k > n_features:
        raise ValueError(
            f"{name}={k} is larger than the number of atoms/features ({n_features})."
        )
    return k


def _is_complex(a):
    # Look at the dtype only (no array conversion: array-likes stay untouched).
    dt = getattr(a, "dtype", None)
    if dt is None and isinstance(a, (list, tuple)):
        dt = np.asarray(a).dtype
    return dt is not None and np.issubdtype(dt, np.complexfloating)


def validate_Xy(estimator, X, y, *, allow_complex=False, reset=True):
    """Validate ``(X, y)`` for a recovery estimator, keeping complex data when allowed.

    Real data go through :func:`sklearn.utils.validation.validate_data` (so
    ``n_features_in_`` and feature names behave as in scikit-learn); complex
    data, which scikit-learn refuses, through :func:`check_matrix`.
    """
    from sklearn.utils.validation import validate_data

    if allow_complex and (_is_complex(X) or _is_complex(y)):
        X = check_matrix(X, "X", allow_complex=True)
        Y, was_1d = check_targets(y, X.shape[0], "y", allow_complex=True)
        dt = result_dtype(X, Y)
        if reset:
            estimator.n_features_in_ = X.shape[1]
        return X.astype(dt, copy=False), (Y[:, 0] if was_1d else Y).astype(dt, copy=False)
    return validate_data(estimator, X, y, y_numeric=True, multi_output=True,
                         dtype=[np.float64, np.float32], reset=reset)


def validate_X(estimator, X, *, allow_complex=False, reset=False, accept_sparse=False):
    """Validate ``X`` at predict/transform time (complex kept when allowed)."""
    from sklearn.utils.validation import validate_data

    if allow_complex and _is_complex(X):
        X = check_matrix(X, "X", allow_complex=True)
        if not reset and X.shape[1] != getattr(estimator, "n_features_in_", X.shape[1]):
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                f"{estimator.n_features_in_} features as input."
            )
        return X
    return validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32],
                         accept_sparse=accept_sparse)
