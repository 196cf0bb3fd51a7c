"""Greedy feature selection by Orthogonal Matching Pursuit over the features.

OMP on standardised columns (Pati et al. 1993) used as a feature selector
(spec section 7): in the linear case this is what Sequential Attention
(Yasuda et al., ICLR 2023) reduces to.  Several targets are handled by
simultaneous OMP (the feature with the largest l2 norm of correlations with
the residuals).  The residual is kept orthogonal to the selected columns by
an orthonormal basis grown by Gram-Schmidt (twice), and the correlations are
updated with one product ``X'q`` per step: ``O(N d)`` per selected feature.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._parallel import blas_limited, effective_n_jobs
from .._validation import Interval, Options, validate_params

__all__ = ["OMPSelector"]

_DEP = 1e-10  # squared norm of a projected unit column below which it is in the span


def _omp_select(Xn, Y, n_select, *, criterion, tol):
    """Greedy selection on unit-norm (or zero) columns ``Xn`` and centred targets ``Y``.

    Returns ``(order, rss_path)``; ``rss_path[0] = ||Y||_F^2`` and
    ``rss_path[i]`` is the residual sum of squares after i features.
    """
    n, d = Xn.shape
    C = Xn.T @ Y  # correlations with the residual, updated in place (d, t)
    R = Y.copy()
    proj = np.einsum("ij,ij->j", Xn, Xn)  # ||P_S^perp x_i||^2
    usable = proj > 0
    selected = np.zeros(d, dtype=bool)
    Q = np.empty((n, 0))
    rss = [float(np.sum(R * R))]
    order = []
    for _ in range(n_select):
        score = np.sum(C * C, axis=1)
        if criterion == "ols":
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.where(proj > _DEP, score / proj, 0.0)
        score[selected | ~usable] = -1.0
        j = int(np.argmax(score))  # ties: lowest index
        if score[j] < 0:
            break
        if tol is not None and len(order) > 0:
            # gain in R^2 the step would give: (||C_j||^2 / ||P x_j||^2) / ||Y||^2
            gain = np.sum(C[j] ** 2) / proj[j] if proj[j] > _DEP else 0.0
            if rss[0] <= 0 or gain / rss[0] < tol:
                break
        selected[j] = True
        order.append(j)
        q = Xn[:, j].copy()
        for _ in range(2):
            q -= Q @ (Q.T @ q)
        nq = float(q @ q)
        if nq > _DEP:
            q /= np.sqrt(nq)
            Q = np.column_stack([Q, q])
            coef = q @ R  # (t,)
            R -= np.outer(q, coef)
            xq = Xn.T @ q
            C -= np.outer(xq, coef)
            proj = np.maximum(proj - xq * xq, 0.0)
        rss.append(float(np.sum(R * R)))
    return np.array(order, dtype=np.intp), np.array(rss)


class OMPSelector(SelectorMixin, BaseEstimator):
    r"""Feature selection by Orthogonal Matching Pursuit over standardised features.

    Starting from no feature, repeatedly adds the feature most correlated
    with the current least-squares residual (``criterion="omp"``) or the one
    whose addition most reduces the residual sum of squares
    (``criterion="ols"``, forward regression), then refits least squares on
    the selected features.  Several targets are selected jointly
    (simultaneous OMP: largest l2 norm of the correlations).  One pass costs
    :math:`O(N d)` per selected feature, against
    :math:`O(d)` cross-validated fits per feature for
    :class:`~sklearn.feature_selection.SequentialFeatureSelector`.

    Parameters
    ----------
    n_features_to_select : "auto", int or float, default="auto"
        ``"auto"``: half the features when ``tol`` is None, otherwise stop
        when the next feature would raise the training :math:`R^2` by less
        than ``tol`` (scikit-learn's ``SequentialFeatureSelector`` semantics,
        with the training :math:`R^2` as the score); an int:
        that many features; a float in (0, 1): that fraction.
    tol : float, default=None
        With ``"auto"`` only: smallest gain in training :math:`R^2` (drop of
        the residual sum of squares divided by the total sum of squares)
        that still adds a feature.
    criterion : {"omp", "ols"}, default="omp"
        ``"omp"``: :math:`\arg\max_i \|x_i^\top R\|_2` on unit columns;
        ``"ols"``: :math:`\arg\max_i \|x_i^\top R\|_2^2 / \|P_S^\perp x_i\|^2`
        (largest RSS drop, "orthogonal least squares").
    fit_intercept : bool, default=True
        Centre the features and the targets.
    normalize : bool, default=True
        Select on unit-norm columns (standardised features).  Constant
        columns are never selected.
    n_jobs : int, default=None
        Threads for the BLAS products (scikit-learn meaning: None = 1,
        -1 = all cores).  The products are memory-bound matrix-vector
        products, for which one thread is usually fastest and never
        oversubscribes a shared machine.

    Attributes
    ----------
    support_ : ndarray of shape (n_features,)
        Mask of the selected features.
    selection_order_ : ndarray of shape (n_features_to_select_,)
        Selected feature indices in the order they were chosen.
    rss_path_ : ndarray of shape (n_features_to_select_ + 1,)
        Residual sum of squares (summed over targets) before the first and
        after each selection.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Least-squares coefficients on the selected features (original
        scale), zero elsewhere.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept of that fit.
    n_features_to_select_ : int
        Number of features selected.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in ``fit`` (string column names only).

    See Also
    --------
    sklearn.feature_selection.SequentialFeatureSelector : cross-validated greedy selection.
    OrthogonalMatchingPursuit : OMP as a sparse regressor.

    Notes
    -----
    After :math:`s` steps the residual is
    :math:`R = (I - Q Q^\top) Y` with :math:`Q` an orthonormal basis of the
    selected columns; the next feature maximises
    :math:`\|x_i^\top R\|_2` over the others.  OMP inherits the exact
    support recovery guarantees of OMP under the irrepresentable / mutual
    coherence conditions (Tropp 2004), and a sequential-lasso argument shows
    it is the linear limit of Sequential Attention (spec 7.2).

    References
    ----------
    .. [1] Y. C. Pati, R. Rezaiifar and P. S. Krishnaprasad, "Orthogonal
       matching pursuit" (1993).
    .. [2] T. Yasuda et al., "Sequential attention for feature selection",
       ICLR 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import OMPSelector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 20))
    >>> y = 3 * X[:, 4] - 2 * X[:, 11] + X[:, 7] + 0.1 * rng.standard_normal(100)
    >>> sel = OMPSelector(n_features_to_select=3).fit(X, y)
    >>> sel.selection_order_.tolist()
    [4, 11, 7]
    >>> sel.transform(X).shape
    (100, 3)
    """

    _parameter_constraints = {
        "n_features_to_select": [Options("auto"), Interval(numbers.Integral, 1, None),
                                 Interval(numbers.Real, 0, 1, closed="neither")],
        "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
        "criterion": [Options("omp", "ols")],
        "fit_intercept": ["boolean"],
        "normalize": ["boolean"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(self, n_features_to_select="auto", *, tol=None, criterion="omp",
                 fit_intercept=True, normalize=True, n_jobs=None):
        self.n_features_to_select = n_features_to_select
        self.tol = tol
        self.criterion = criterion
        self.fit_intercept = fit_intercept
        self.normalize = normalize
        self.n_jobs = n_jobs

    def fit(self, X, y):
        """Select the features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target(s), numeric.

        Returns
        -------
        self : object
            Fitted selector.
        """
        validate_params(self.get_params(), self._parameter_constraints, type(self).__name__)
        if self.tol is not None and self.n_features_to_select != "auto":
            raise ValueError(
                "tol is only used with n_features_to_select='auto'; got "
                f"n_features_to_select={self.n_features_to_select!r} and tol={self.tol!r}.")
        X, y = validate_data(self, X, y, y_numeric=True, multi_output=True,
                             dtype=[np.float64, np.float32], ensure_min_samples=2)
        n, d = X.shape
        nfs = self.n_features_to_select
        if nfs == "auto":
            k = d if self.tol is not None else max(d // 2, 1)
        elif isinstance(nfs, numbers.Integral):
            if nfs > d:
                raise ValueError(
                    f"n_features_to_select={nfs} is larger than the number of features ({d}).")
            k = int(nfs)
        else:
            k = max(int(nfs * d), 1)
        Xf = np.asarray(X, dtype=np.float64)
        Y = np.asarray(y, dtype=np.float64).reshape(n, -1)
        if self.fit_intercept:
            x_mean, y_mean = Xf.mean(axis=0), Y.mean(axis=0)
            Xc, Yc = Xf - x_mean, Y - y_mean
        else:
            x_mean, y_mean = np.zeros(d), np.zeros(Y.shape[1])
            Xc, Yc = Xf, Y
        norms = np.linalg.norm(Xc, axis=0)
        tiny = np.finfo(np.float64).eps * max(np.sqrt(n), 1.0) * max(np.abs(Xf).max(), 1e-300)
        norms = np.where(norms > tiny, norms, 0.0)
        if self.normalize:
            Xn = np.divide(Xc, norms, out=np.zeros_like(Xc), where=norms > 0)
        else:
            Xn = np.where(norms > 0, Xc, 0.0)
        if not np.any(norms > 0):
            raise ValueError("Every feature of X is constant; there is nothing to select.")
        tol = self.tol if nfs == "auto" else None
        with blas_limited(effective_n_jobs(self.n_jobs)):
            order, rss = _omp_select(Xn, Yc, k, criterion=self.criterion, tol=tol)
        if order.size == 0:  # all candidates constant or tol stopped before the first
            order = np.array([int(np.argmax(norms))], dtype=np.intp)
            rss = np.array([rss[0], rss[0]])
        coef = np.zeros((Y.shape[1], d))
        if order.size:
            sol, *_ = np.linalg.lstsq(Xc[:, order], Yc, rcond=None)
            coef[:, order] = sol.T
        intercept = y_mean - coef @ x_mean
        support = np.zeros(d, dtype=bool)
        support[order] = True
        self.support_ = support
        self.selection_order_ = order
        self.rss_path_ = rss
        self.n_features_to_select_ = int(order.size)
        if np.ndim(y) == 1:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef, intercept
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags
