"""Solver objects: declared requirements on datafits and penalties, and ``solve``.

Each solver states what it needs instead of the fit driver keeping a table
of types:

* ``datafit_requires`` -- the datafit methods it calls (a smooth datafit
  for coordinate descent: ``value``, ``raw_grad``, ``gradient_scalar``,
  ``initialize``, which sets the coordinate-wise Lipschitz constants
  ``lipschitz``; ``prox_conjugate`` for the primal-dual solver);
* ``datafit_kinds`` -- alternatively, the built-in datafits whose
  reformulation the solver implements (``kind`` attribute of the datafit:
  ``"quadratic"``, ``"sqrt"``, ``"lad"``);
* ``penalty_requires`` -- the penalty methods it calls (``prox_1d``,
  ``value``; optional ``subdiff_distance``);
* ``requires_convex`` -- whether the penalty must declare itself convex
  (its ``is_convex`` attribute: convexity is declared, not decided by type);
* ``builtin_penalties_only`` -- kernels that select the built-in penalties
  by code (a user penalty goes to a solver without this flag).

``validate(datafit, penalty)`` raises an error that names what is missing,
and ``solve(X, y, datafit, penalty)`` fits without an estimator.
"""

import numpy as np

__all__ = ["BaseSolver"]


def datafit_kind_of(datafit):
    """``"quadratic"``, ``"sqrt"``, ``"lad"`` for the built-in datafits (their
    ``kind`` attribute), ``"smooth"`` for a user datafit with the smooth
    protocol, ``"proximal"`` for one with ``prox_conjugate``, else None."""
    kind = getattr(datafit, "kind", None)
    if kind in ("quadratic", "sqrt", "lad"):
        return kind
    if all(hasattr(datafit, a) for a in BaseSolver._SMOOTH):
        return "smooth"
    if hasattr(datafit, "prox_conjugate"):
        return "proximal"
    return None


class BaseSolver:
    """Declared requirements and the ``solve`` method shared by the solvers."""

    _SMOOTH = ("value", "raw_grad", "gradient_scalar", "initialize")
    datafit_requires = ()
    datafit_kinds = ()
    penalty_requires = ("prox_1d", "value")
    requires_convex = False
    builtin_penalties_only = False

    def validate(self, datafit, penalty):
        """Check that ``datafit`` and ``penalty`` provide what this solver needs.

        Parameters
        ----------
        datafit : object
            Datafit instance.
        penalty : object
            Penalty instance.

        Raises
        ------
        ValueError or TypeError
            Naming the missing methods or properties.
        """
        from .._penalties import is_builtin, is_convex

        name = type(self).__name__
        kind = datafit_kind_of(datafit)
        if kind not in self.datafit_kinds:
            missing = [a for a in self.datafit_requires if not hasattr(datafit, a)]
            if not self.datafit_requires or missing:
                raise ValueError(f"{name} needs {self._datafit_need()}; the datafit "
                                 f"{type(datafit).__name__} "
                                 f"{'lacks ' + ', '.join(missing) if missing else 'is not one'}.")
        if self.builtin_penalties_only and not is_builtin(penalty):
            raise ValueError(f"{name} runs the built-in penalties only; for the penalty "
                             f"{type(penalty).__name__} use "
                             f"{'PDHG' if kind in ('sqrt', 'lad') else 'AndersonCD'}.")
        missing = [a for a in self.penalty_requires if not hasattr(penalty, a)]
        if missing:
            raise TypeError(f"{name}: penalty {type(penalty).__name__} lacks "
                            f"{', '.join(missing)}.")
        if self.requires_convex and not is_convex(penalty):
            raise ValueError(f"{name} solves convex problems; penalty "
                             f"{type(penalty).__name__} is not convex (it does not declare "
                             f"is_convex = True).")

    def _datafit_need(self):
        parts = [{"quadratic": "the built-in Quadratic datafit",
                  "sqrt": "the built-in SqrtQuadratic datafit",
                  "lad": "the built-in AbsoluteDeviation datafit"}[k]
                 for k in self.datafit_kinds]
        if self.datafit_requires == self._SMOOTH:
            return "a smooth datafit (" + " or ".join(
                parts + ["one providing " + ", ".join(self._SMOOTH)]) + ")"
        if self.datafit_requires:
            parts.append("a datafit providing " + ", ".join(self.datafit_requires))
        return " or ".join(parts)

    def solve(self, X, y, datafit, penalty, *, fit_intercept=False, sample_weight=None,
              coef_init=None):
        """Fit ``min_w F(y - Xw - b) + Omega(w)`` with this solver.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Design.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        datafit : object
            Datafit (``Quadratic()``, ``SqrtQuadratic()``, ``AbsoluteDeviation()``
            or a user class).
        penalty : object
            Penalty (built-in or a user class).
        fit_intercept : bool, default=False
            Fit an unpenalised intercept.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        coef_init : ndarray of shape (n_features,) or (n_features, n_targets), default=None
            Warm start.

        Returns
        -------
        result : SolverResult
            ``coef`` (n_features, n_targets), ``intercept``, ``n_iter``,
            ``dual_gap`` (NaN where no gap is available), ``kkt`` (the
            stopping figure), ``converged``.
        """
        from ..._validation import check_matrix, check_targets
        from .._fit import _check_sample_weight, penalized_fit

        X = check_matrix(X, "X", accept_sparse=("csc", "csr"))
        Y, _ = check_targets(y, X.shape[0], "y", dtype=np.float64)
        sw = _check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=np.float64).reshape(X.shape[1], Y.shape[1])
        return penalized_fit(X, Y, datafit, penalty, self, fit_intercept=fit_intercept,
                             sample_weight=sw, coef_init=coef_init, owner=type(self).__name__)
