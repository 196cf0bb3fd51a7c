"""Datafits: Quadratic (least squares), SqrtQuadratic (square-root LASSO),
AbsoluteDeviation (LAD), Huber and Logistic.

skglm-style plain classes (``skglm/datafits/single_task.py``) compiled lazily
to jitclasses by the generic solver.  All are normalised by the number of
samples n (spec section 0.1):

=================  =====================================  =========================
class              value ``F(w)``                         public estimator
=================  =====================================  =========================
Quadratic          ``||y - Xw||^2 / (2 n)``               Lasso, WeightedLasso
SqrtQuadratic      ``||y - Xw||_2 / sqrt(n)``             SqrtLasso
AbsoluteDeviation  ``||y - Xw||_1 / n``                   LADLasso
Huber              ``sum_i h_delta(y_i - x_i w) / n``     PenalizedRegression
Logistic           ``sum_i log(1 + exp(-y_i x_i w)) / n`` PenalizedRegression
=================  =====================================  =========================

Smooth datafits (usable by coordinate descent) provide ``value``,
``gradient_scalar``, ``raw_grad`` and ``initialize`` (which sets the
coordinate-wise Lipschitz constants); the non-smooth ones provide ``prox``
and ``prox_conjugate`` (for primal-dual solvers) and a dual objective.  Both
families provide ``raw_grad`` (a (sub)gradient with respect to ``Xw``) and
``refit``-related helpers used by ``LossOMP``.
"""

import numpy as np

__all__ = ["Quadratic", "SqrtQuadratic", "AbsoluteDeviation", "Huber", "Logistic"]


class Quadratic:
    r"""Least-squares datafit ``F(w) = ||y - Xw||^2 / (2 n_samples)``.

    Attributes
    ----------
    lipschitz : ndarray of shape (n_features,)
        ``||x_j||^2 / n_samples``, set by ``initialize``.

    See Also
    --------
    SqrtQuadratic, AbsoluteDeviation

    Notes
    -----
    Gradient ``X^T (Xw - y) / n``; coordinate-wise Lipschitz constant
    ``||x_j||^2 / n``.  Dual of the Lasso (spec 3.1a, normalised):
    ``D(theta) = (||y||^2 - ||y - n theta||^2) / (2n)`` over
    ``|x_j^T theta| <= alpha w_j``.

    References
    ----------
    .. [1] Bertrand, Q. et al. (2022). Beyond L1: faster and better sparse
       models with skglm. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import Quadratic
    >>> Quadratic().value(np.array([1.0, 1.0]), np.zeros(1), np.zeros(2))
    0.5
    """

    kind = "quadratic"

    def __init__(self):
        self.lipschitz = np.zeros(0)

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import float64

        return (("lipschitz", float64[:]),)

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict()

    def initialize(self, X, y):
        """Pre-compute the coordinate-wise Lipschitz constants.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Design.
        y : ndarray of shape (n_samples,)
            Targets.
        """
        n = X.shape[0]
        self.lipschitz = (X ** 2).sum(axis=0) / n

    def value(self, y, w, Xw):
        """Datafit value.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Targets.
        w : ndarray of shape (n_features,)
            Coefficients (unused by these datafits, kept for the interface).
        Xw : ndarray of shape (n_samples,)
            Predictions ``X @ w``.

        Returns
        -------
        value : float
            The datafit.
        """
        return np.sum((y - Xw) ** 2) / (2.0 * y.shape[0])

    def raw_grad(self, y, Xw):
        """(Sub)gradient of the datafit with respect to ``Xw``.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Targets.
        Xw : ndarray of shape (n_samples,)
            Predictions.

        Returns
        -------
        grad : ndarray of shape (n_samples,)
            The gradient is ``X.T @ grad``.
        """
        return (Xw - y) / y.shape[0]

    def gradient_scalar(self, X, y, w, Xw, j):
        """Partial derivative with respect to ``w_j``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Design.
        y : ndarray of shape (n_samples,)
            Targets.
        w : ndarray of shape (n_features,)
            Coefficients.
        Xw : ndarray of shape (n_samples,)
            Predictions.
        j : int
            Coordinate.

        Returns
        -------
        g : float
            ``x_j^T (Xw - y) / n``.
        """
        return X[:, j] @ (Xw - y) / X.shape[0]


class SqrtQuadratic:
    r"""Square-root datafit ``F(w) = ||y - Xw||_2 / sqrt(n_samples)``.

    See Also
    --------
    Quadratic, AbsoluteDeviation

    Notes
    -----
    Non-smooth at ``Xw = y`` only.  ``F(u) = c ||u - y||`` with
    ``c = 1/sqrt(n)``; its conjugate is ``y^T z`` on the ball ``||z|| <= c``, so
    ``prox_conjugate`` projects on that ball.  Dual of the square-root Lasso:
    ``max y^T theta`` over ``||theta|| <= c``, ``|x_j^T theta| <= alpha w_j``
    (spec 3.1b).

    References
    ----------
    .. [1] Belloni, A., Chernozhukov, V. & Wang, L. (2011). Square-root lasso:
       pivotal recovery of sparse signals via conic programming. Biometrika.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import SqrtQuadratic
    >>> SqrtQuadratic().value(np.array([3.0, 4.0, 0.0, 0.0]), np.zeros(1), np.zeros(4))
    2.5
    """

    kind = "sqrt"

    def __init__(self):
        pass

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        return ()

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict()

    def value(self, y, w, Xw):
        """Datafit value.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Targets.
        w : ndarray of shape (n_features,)
            Coefficients (unused by these datafits, kept for the interface).
        Xw : ndarray of shape (n_samples,)
            Predictions ``X @ w``.

        Returns
        -------
        value : float
            The datafit.
        """
        return np.sqrt(np.sum((y - Xw) ** 2)) / np.sqrt(y.shape[0])

    def raw_grad(self, y, Xw):
        """(Sub)gradient of the datafit with respect to ``Xw``.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Targets.
        Xw : ndarray of shape (n_samples,)
            Predictions.

        Returns
        -------
        grad : ndarray of shape (n_samples,)
            The gradient is ``X.T @ grad``.
        """
        r = Xw - y
        nr = np.sqrt(np.sum(r ** 2))
        if nr == 0.0:
            return 0.0 * r
        return r / (nr * np.sqrt(y.shape[0]))

    def prox_conjugate(self, z, step, y):
        """Prox of ``step * F^*`` (projection on the dual-norm ball), for PDHG.

        Parameters
        ----------
        z : ndarray of shape (n_samples,)
            Dual point.
        step : float
            Dual step.
        y : ndarray of shape (n_samples,)
            Targets.

        Returns
        -------
        z_new : ndarray of shape (n_samples,)
            ``Proj(z - step * y)``.
        """
        v = z - step * y
        c = 1.0 / np.sqrt(y.shape[0])
        nv = np.sqrt(np.sum(v ** 2))
        if nv > c:
            return v * (c / nv)
        return v


class AbsoluteDeviation:
    r"""Least absolute deviation datafit ``F(w) = ||y - Xw||_1 / n_samples``.

    See Also
    --------
    Quadratic, SqrtQuadratic

    Notes
    -----
    ``F(u) = c ||u - y||_1`` with ``c = 1/n``; ``prox_conjugate`` clips to
    ``[-c, c]``.  Dual of the LAD-Lasso: ``max y^T theta`` over
    ``|theta_i| <= c``, ``|x_j^T theta| <= alpha w_j`` (spec 3.1c).  It equals
    twice scikit-learn's pinball loss at quantile 0.5.

    References
    ----------
    .. [1] Wang, H., Li, G. & Jiang, G. (2007). Robust regression shrinkage and
       consistent variable selection through the LAD-Lasso. JBES 25(3).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import AbsoluteDeviation
    >>> AbsoluteDeviation().value(np.array([1.0, -3.0]), np.zeros(1), np.zeros(2))
    2.0
    """

    kind = "lad"

    def __init__(self):
        pass

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        return ()

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict()

    def value(self, y, w, Xw):
        """Datafit value.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Targets.
        w : ndarray of shape (n_features,)
            Coefficients (unused by these datafits, kept for the interface).
        Xw : ndarray of shape (n_samples,)
            Predictions ``X @ w``.

        Returns
        -------
        value : float
            The datafit.
        """
        return np.sum(np.abs(y - Xw)) / y.shape[0]

    def raw_grad(self, y, Xw):
        """(Sub)gradient of the datafit with respect to ``Xw``.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Targets.
        Xw : ndarray of shape (n_samples,)
            Predictions.

        Returns
        -------
        grad : ndarray of shape (n_samples,)
            The gradient is ``X.T @ grad``.
        """
        return np.sign(Xw - y) / y.shape[0]

    def prox_conjugate(self, z, step, y):
        """Prox of ``step * F^*`` (projection on the dual-norm ball), for PDHG.

        Parameters
        ----------
        z : ndarray of shape (n_samples,)
            Dual point.
        step : float
            Dual step.
        y : ndarray of shape (n_samples,)
            Targets.

        Returns
        -------
        z_new : ndarray of shape (n_samples,)
            ``Proj(z - step * y)``.
        """
        c = 1.0 / y.shape[0]
        return np.clip(z - step * y, -c, c)


class _SmoothGLM:
    """Shared protocol of the smooth per-sample datafits (Huber, logistic)."""

    # the curvature bound of one sample's loss: lipschitz = curv ||x_j||^2 / n
    _curv = 1.0

    def __init__(self):
        self.lipschitz = np.zeros(0)

    def initialize(self, X, y):
        """Pre-compute the coordinate-wise Lipschitz constants.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Design.
        y : ndarray of shape (n_samples,)
            Targets.
        """
        n = X.shape[0]
        self.lipschitz = self._curv * (X ** 2).sum(axis=0) / n

    def gradient_scalar(self, X, y, w, Xw, j):
        """Partial derivative with respect to ``w_j``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Design.
        y : ndarray of shape (n_samples,)
            Targets.
        w : ndarray of shape (n_features,)
            Coefficients.
        Xw : ndarray of shape (n_samples,)
            Predictions.
        j : int
            Coordinate.

        Returns
        -------
        g : float
            ``x_j^T raw_grad(y, Xw)``.
        """
        return X[:, j] @ self.raw_grad(y, Xw)


class Huber(_SmoothGLM):
    r"""Huber datafit ``F(w) = sum_i h_delta(y_i - x_i^T w) / n_samples``.

    ``h_delta(r) = r^2 / 2`` for ``|r| <= delta``, ``delta |r| - delta^2 / 2``
    beyond: least squares for small residuals, the absolute deviation (robust
    to outliers) for large ones.

    Parameters
    ----------
    delta : float, default=1.35
        Threshold between the quadratic and the linear part (in the units of
        ``y``).

    Attributes
    ----------
    lipschitz : ndarray of shape (n_features,)
        ``||x_j||^2 / n_samples``, set by ``initialize``.

    See Also
    --------
    Quadratic, AbsoluteDeviation, Logistic

    Notes
    -----
    Smooth (gradient ``-X^T clip(y - Xw, -delta, delta) / n``, curvature at
    most 1), so ``AndersonCD`` solves it with the compiled kernel.  Dual of the
    L1-penalised problem: ``D(u) = sum_i (y_i u_i - u_i^2 / 2) / n`` over
    ``|u_i| <= delta`` and ``|x_j^T u| / n <= alpha w_j``; the solver's dual
    point is ``clip(y - Xw, -delta, delta)`` rescaled into the constraint,
    and it stops on the relative duality gap (no intercept) or the
    subdifferential distance (with an intercept).  ``delta -> inf`` is the
    Lasso.

    References
    ----------
    .. [1] Huber, P. J. (1964). Robust estimation of a location parameter.
       Annals of Mathematical Statistics 35(1), 73-101.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import Huber
    >>> float(Huber(delta=1.0).value(np.array([0.5, 3.0]), None, np.zeros(2)))
    1.3125
    """

    kind = "huber"

    def __init__(self, delta=1.35):
        super().__init__()
        self.delta = delta

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import float64

        return (("delta", float64), ("lipschitz", float64[:]))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict(delta=self.delta)

    def value(self, y, w, Xw):
        """Datafit value.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Targets.
        w : ndarray of shape (n_features,)
            Coefficients (unused, kept for the interface).
        Xw : ndarray of shape (n_samples,)
            Predictions ``X @ w`` (plus the intercept).

        Returns
        -------
        value : float
            The datafit.
        """
        a = np.abs(y - Xw)
        d = self.delta
        return np.sum(np.where(a <= d, 0.5 * a * a, d * a - 0.5 * d * d)) / y.shape[0]

    def raw_grad(self, y, Xw):
        """Gradient of the datafit with respect to ``Xw``.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Targets.
        Xw : ndarray of shape (n_samples,)
            Predictions.

        Returns
        -------
        grad : ndarray of shape (n_samples,)
            ``-clip(y - Xw, -delta, delta) / n``.
        """
        return -np.clip(y - Xw, -self.delta, self.delta) / y.shape[0]


class Logistic(_SmoothGLM):
    r"""Logistic datafit ``F(w) = sum_i log(1 + exp(-y_i x_i^T w)) / n_samples``.

    Labels ``y_i`` in ``{-1, +1}``: sparse logistic regression.

    Attributes
    ----------
    lipschitz : ndarray of shape (n_features,)
        ``||x_j||^2 / (4 n_samples)``, set by ``initialize``.

    See Also
    --------
    Quadratic, Huber

    Notes
    -----
    Smooth (curvature at most 1/4), so ``AndersonCD`` solves it with the
    compiled kernel.  With an L1 penalty this is scikit-learn's
    ``LogisticRegression(l1_ratio=1, C=C)`` at ``alpha = 1 / (C n)``.  Dual
    of the L1-penalised problem: ``D(u) = sum_i H(y_i u_i) / n`` (``H`` the
    binary entropy) over ``y_i u_i`` in ``[0, 1]`` and ``|x_j^T u| / n <=
    alpha w_j``; the solver's dual point is ``y sigma(-y Xw)`` rescaled into
    the constraint, and it stops on the relative duality gap (no intercept)
    or the subdifferential distance (with an intercept).

    References
    ----------
    .. [1] Koh, K., Kim, S.-J. & Boyd, S. (2007). An interior-point method for
       large-scale l1-regularized logistic regression. JMLR 8, 1519-1555.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import Logistic
    >>> round(float(Logistic().value(np.array([1.0, -1.0]), None, np.zeros(2))), 6)
    0.693147
    """

    kind = "logistic"
    _curv = 0.25

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import float64

        return (("lipschitz", float64[:]),)

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict()

    def value(self, y, w, Xw):
        """Datafit value.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Labels in ``{-1, +1}``.
        w : ndarray of shape (n_features,)
            Coefficients (unused, kept for the interface).
        Xw : ndarray of shape (n_samples,)
            Predictions ``X @ w`` (plus the intercept).

        Returns
        -------
        value : float
            The datafit.
        """
        return np.sum(np.logaddexp(0.0, -y * Xw)) / y.shape[0]

    def raw_grad(self, y, Xw):
        """Gradient of the datafit with respect to ``Xw``.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            Labels in ``{-1, +1}``.
        Xw : ndarray of shape (n_samples,)
            Predictions.

        Returns
        -------
        grad : ndarray of shape (n_samples,)
            ``-y sigma(-y Xw) / n``.
        """
        return -y * _sigmoid(-y * Xw) / y.shape[0]


def _sigmoid(t):
    """``1 / (1 + exp(-t))`` without overflow."""
    out = np.empty_like(t, dtype=np.float64)
    pos = t >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-t[pos]))
    e = np.exp(t[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def is_builtin_datafit(datafit):
    return type(datafit) in (Quadratic, SqrtQuadratic, AbsoluteDeviation, Huber, Logistic)
