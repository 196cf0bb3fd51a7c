"""Shared pieces of every family: the result record and convergence reporting."""

import warnings

from sklearn.exceptions import ConvergenceWarning

__all__ = ["ConvergenceWarning", "SolverResult", "warn_not_converged"]


class SolverResult(dict):
    """Result of a functional solver, a dict with attribute access.

    Like :class:`scipy.optimize.OptimizeResult`: the keys depend on the
    solver, but ``coef`` (the solution), ``n_iter`` and ``converged`` are
    always present.

    Examples
    --------
    >>> from sparsecode._base import SolverResult
    >>> r = SolverResult(coef=[1.0], n_iter=3, converged=True)
    >>> r.n_iter
    3
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __repr__(self):
        keys = ", ".join(sorted(self))
        return f"SolverResult({keys})"

    def __dir__(self):
        return list(self.keys())


def warn_not_converged(solver, n_failed, n_total, figure_name, figure, tol, hint=None):
    """Emit one summarising :class:`ConvergenceWarning` for a call.

    Parameters
    ----------
    solver : str
        Name shown to the user.
    n_failed, n_total : int
        How many problems (signals, targets) of the call did not converge.
    figure_name : str
        What the convergence figure is ("duality gap", "residual norm", ...).
    figure : float
        The worst figure reached.
    tol : float
        The tolerance that was asked for.
    hint : str, optional
        What the user can do about it.
    """
    if n_failed <= 0:
        return
    which = "" if n_total == 1 else f" for {n_failed} of {n_total} problems"
    msg = (
        f"{solver} did not converge{which}: {figure_name} reached {figure:.3e} "
        f"(tol={tol:.3e})."
    )
    msg += " " + (hint or "Increase max_iter or loosen tol.")
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
