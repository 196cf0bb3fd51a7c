"""Separable penalties: L1, WeightedL1, MCP, SCAD, Lq (q = 1/2, 2/3), CEL0, L0.

Plain Python classes in skglm's style (``skglm/penalties/separable.py``):
``get_spec()`` / ``params_to_dict()`` describe them to Numba, which compiles
them to jitclasses on first use by a generic solver (``_jit.compiled_clone``).
Methods used by the solvers:

* ``value(w)`` -- the penalty of the whole vector;
* ``prox_1d(value, stepsize, j)`` -- ``argmin_z (z - value)^2 / (2 stepsize) + phi_j(z)``;
* ``is_penalized(n_features)`` -- which coordinates carry a penalty;
* ``alpha_max(gradient)`` (convex penalties) -- the smallest alpha giving 0.

Writing a new penalty means writing these methods with Numba-compatible code
(see the user guide); no solver changes.  The built-in classes additionally
map to integer codes (``_prox.py``) so that the cached kernels serve them.
"""

import numbers

import numpy as np

from . import _prox as P

__all__ = ["L1", "WeightedL1", "ElasticNetPenalty", "L21", "MCP", "SCAD", "Lq", "CEL0", "L0"]


def _f64():
    from numba import float64

    return float64


def _arr():
    from numba import float64

    return float64[:]


class L1:
    r"""L1 penalty ``alpha * sum_j |w_j|``.

    Parameters
    ----------
    alpha : float
        Regularisation strength, >= 0.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    See Also
    --------
    WeightedL1 : per-feature weights.

    Notes
    -----
    ``prox(v) = sign(v) max(|v| - step alpha, 0)`` (soft thresholding).

    References
    ----------
    .. [1] Tibshirani, R. (1996). Regression shrinkage and selection via the
       lasso. JRSS B 58(1), 267-288.

    Examples
    --------
    >>> from sparsecode.convex import L1
    >>> L1(alpha=0.5).prox_1d(2.0, 1.0, 0)
    1.5
    """

    is_convex = True

    def __init__(self, alpha, positive=False):
        self.alpha = alpha
        self.positive = positive

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import boolean

        return (("alpha", _f64()), ("positive", boolean))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict(alpha=float(self.alpha), positive=bool(self.positive))

    def value(self, w):
        """Penalty value ``sum_j phi_j(w_j)``.

        Parameters
        ----------
        w : ndarray of shape (n_features,)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        return self.alpha * np.sum(np.abs(w))

    def prox_1d(self, value, stepsize, j):
        """Proximal operator of ``stepsize * phi_j`` at ``value``.

        Parameters
        ----------
        value : float
            Point at which the prox is taken.
        stepsize : float
            Step (1 / Lipschitz constant in coordinate descent).
        j : int
            Coordinate index (for per-feature weights or curvatures).

        Returns
        -------
        z : float
            ``argmin_z (z - value)^2 / (2 stepsize) + phi_j(z)``.
        """
        return P.prox_scalar(0, value, stepsize, self.alpha, 0.0, 1.0, 1.0, self.positive)

    def is_penalized(self, n_features):
        """Which coordinates carry a penalty.

        Parameters
        ----------
        n_features : int
            Number of features.

        Returns
        -------
        mask : ndarray of shape (n_features,), dtype bool
            False for unpenalised features.
        """
        return np.ones(n_features, dtype=np.bool_)

    def alpha_max(self, gradient):
        """Smallest alpha for which 0 is optimal.

        Parameters
        ----------
        gradient : ndarray of shape (n_features,)
            Gradient of the datafit at ``w = 0``.

        Returns
        -------
        alpha_max : float
            ``max_j |gradient_j| / w_j`` over penalised features.
        """
        if self.positive:
            return max(0.0, np.max(-gradient))
        return np.max(np.abs(gradient))


class WeightedL1:
    r"""Weighted L1 penalty ``alpha * sum_j weights_j |w_j|``.

    A weight of 0 leaves the feature unpenalised (skglm's convention); a weight
    of ``inf`` excludes it (its coefficient stays 0, as in celer).

    Parameters
    ----------
    alpha : float
        Regularisation strength, >= 0.
    weights : array-like of shape (n_features,)
        Non-negative weights (``inf`` allowed).
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    See Also
    --------
    L1 : unit weights.

    Notes
    -----
    ``prox(v)_j = sign(v) max(|v| - step alpha w_j, 0)``; the dual feasible set
    is ``|x_j^T theta| <= alpha w_j`` on penalised features and
    ``x_j^T theta = 0`` on unpenalised ones (spec 3.1a).

    References
    ----------
    .. [1] Zou, H. (2006). The adaptive lasso and its oracle properties. JASA.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import WeightedL1
    >>> pen = WeightedL1(alpha=1.0, weights=np.array([0.0, 2.0, np.inf]))
    >>> [pen.prox_1d(3.0, 1.0, j) for j in range(3)]
    [3.0, 1.0, 0.0]
    """

    is_convex = True

    def __init__(self, alpha, weights, positive=False):
        self.alpha = alpha
        self.weights = weights
        self.positive = positive

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import boolean

        return (("alpha", _f64()), ("weights", _arr()), ("positive", boolean))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict(alpha=float(self.alpha), weights=np.asarray(self.weights, dtype=np.float64),
                    positive=bool(self.positive))

    def value(self, w):
        """Penalty value ``sum_j phi_j(w_j)``.

        Parameters
        ----------
        w : ndarray of shape (n_features,)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        s = 0.0
        for j in range(w.shape[0]):
            if w[j] != 0.0:
                s += P.value_scalar(1, w[j], self.alpha, 0.0, self.weights[j], 1.0)
        return s

    def prox_1d(self, value, stepsize, j):
        """Proximal operator of ``stepsize * phi_j`` at ``value``.

        Parameters
        ----------
        value : float
            Point at which the prox is taken.
        stepsize : float
            Step (1 / Lipschitz constant in coordinate descent).
        j : int
            Coordinate index (for per-feature weights or curvatures).

        Returns
        -------
        z : float
            ``argmin_z (z - value)^2 / (2 stepsize) + phi_j(z)``.
        """
        return P.prox_scalar(1, value, stepsize, self.alpha, 0.0, self.weights[j], 1.0,
                             self.positive)

    def is_penalized(self, n_features):
        """Which coordinates carry a penalty.

        Parameters
        ----------
        n_features : int
            Number of features.

        Returns
        -------
        mask : ndarray of shape (n_features,), dtype bool
            False for unpenalised features.
        """
        return self.weights != 0.0

    def alpha_max(self, gradient):
        """Smallest alpha for which 0 is optimal.

        Parameters
        ----------
        gradient : ndarray of shape (n_features,)
            Gradient of the datafit at ``w = 0``.

        Returns
        -------
        alpha_max : float
            ``max_j |gradient_j| / w_j`` over penalised features.
        """
        m = 0.0
        for j in range(gradient.shape[0]):
            wj = self.weights[j]
            if wj > 0.0 and not np.isinf(wj):
                g = -gradient[j] if self.positive else abs(gradient[j])
                m = max(m, g / wj)
        return m



class ElasticNetPenalty:
    r"""Elastic-net penalty ``alpha (l1_ratio ||w||_1 + (1 - l1_ratio) ||w||_2^2 / 2)``.

    scikit-learn's ``ElasticNet`` parametrisation.

    Parameters
    ----------
    alpha : float
        Regularisation strength, >= 0.
    l1_ratio : float, default=0.5
        Mix in ``[0, 1]``: 1 is the L1 penalty, 0 the ridge penalty.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    See Also
    --------
    L1, sparsecode.convex.ElasticNet

    Notes
    -----
    With ``a = alpha l1_ratio`` and ``b = alpha (1 - l1_ratio)``:
    ``prox(v) = sign(v) max(|v| - step a, 0) / (1 + step b)``.

    References
    ----------
    .. [1] Zou, H. & Hastie, T. (2005). Regularization and variable selection
       via the elastic net. JRSS B 67(2), 301-320.

    Examples
    --------
    >>> from sparsecode.convex import ElasticNetPenalty
    >>> ElasticNetPenalty(alpha=1.0, l1_ratio=0.5).prox_1d(2.0, 1.0, 0)
    1.0
    """

    is_convex = True

    def __init__(self, alpha, l1_ratio=0.5, positive=False):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.positive = positive

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import boolean

        return (("alpha", _f64()), ("l1_ratio", _f64()), ("positive", boolean))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict(alpha=float(self.alpha), l1_ratio=float(self.l1_ratio),
                    positive=bool(self.positive))

    def value(self, w):
        """Penalty value.

        Parameters
        ----------
        w : ndarray of shape (n_features,)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        return self.alpha * (self.l1_ratio * np.sum(np.abs(w))
                             + 0.5 * (1.0 - self.l1_ratio) * np.sum(w * w))

    def prox_1d(self, value, stepsize, j):
        """Proximal operator of ``stepsize * phi_j`` at ``value``.

        Parameters
        ----------
        value : float
            Point at which the prox is taken.
        stepsize : float
            Step.
        j : int
            Coordinate index (unused).

        Returns
        -------
        z : float
            ``argmin_z (z - value)^2 / (2 stepsize) + phi(z)``.
        """
        return P.prox_scalar(8, value, stepsize, self.alpha * self.l1_ratio, self.alpha *
                             (1.0 - self.l1_ratio), 1.0, 1.0, self.positive)

    def is_penalized(self, n_features):
        """Which coordinates carry a penalty.

        Parameters
        ----------
        n_features : int
            Number of features.

        Returns
        -------
        mask : ndarray of shape (n_features,), dtype bool
            All True.
        """
        return np.ones(n_features, dtype=np.bool_)


class L21:
    r"""Row-sparsity (multi-task) penalty ``alpha * sum_j ||W_j||_2``.

    ``W`` has one row per feature and one column per task: a feature is
    selected for all tasks or for none.  Used by ``MultiTaskLasso``.

    Parameters
    ----------
    alpha : float
        Regularisation strength, >= 0.

    See Also
    --------
    sparsecode.convex.MultiTaskLasso

    Notes
    -----
    ``prox(V)_j = max(0, 1 - step alpha / ||V_j||) V_j`` (block soft
    thresholding).

    References
    ----------
    .. [1] Obozinski, G., Taskar, B. & Jordan, M. (2010). Joint covariate
       selection and joint subspace selection for multiple classification
       problems. Statistics and Computing 20(2), 231-252.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import L21
    >>> L21(alpha=1.0).prox_block(np.array([3.0, 4.0]), 1.0)
    array([2.4, 3.2])
    """

    is_convex = True

    def __init__(self, alpha):
        self.alpha = alpha

    def value(self, W):
        """``alpha * sum_j ||W_j||_2``.

        Parameters
        ----------
        W : ndarray of shape (n_features, n_tasks)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        return float(self.alpha * np.sum(np.sqrt(np.sum(np.asarray(W) ** 2, axis=1))))

    def prox_block(self, v, stepsize):
        """Block soft thresholding of one row.

        Parameters
        ----------
        v : ndarray of shape (n_tasks,)
            Row at which the prox is taken.
        stepsize : float
            Step.

        Returns
        -------
        z : ndarray of shape (n_tasks,)
            ``argmin_z ||z - v||^2 / (2 stepsize) + alpha ||z||``.
        """
        v = np.asarray(v, dtype=np.float64)
        nrm = float(np.linalg.norm(v))
        if nrm <= stepsize * self.alpha:
            return np.zeros_like(v)
        return (1.0 - stepsize * self.alpha / nrm) * v

class MCP:
    r"""Minimax concave penalty (Zhang 2010).

    ``phi(t) = alpha |t| - t^2 / (2 gamma)`` for ``|t| <= gamma alpha``,
    ``gamma alpha^2 / 2`` otherwise.

    Parameters
    ----------
    alpha : float
        Regularisation strength, >= 0.
    gamma : float, default=3.0
        Concavity, > 1 (closed-form prox when ``gamma`` exceeds the step).
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    See Also
    --------
    SCAD : the other folded-concave penalty.

    Notes
    -----
    ``prox(v) = 0`` if ``|v| <= step alpha``; ``sign(v)(|v| - step alpha)/(1 -
    step/gamma)`` if ``|v| <= gamma alpha``; ``v`` otherwise (spec 7.1).

    References
    ----------
    .. [1] Zhang, C.-H. (2010). Nearly unbiased variable selection under
       minimax concave penalty. Ann. Statist. 38(2).

    Examples
    --------
    >>> from sparsecode.convex import MCP
    >>> MCP(alpha=1.0, gamma=3.0).prox_1d(2.0, 1.0, 0)
    1.5
    """

    is_convex = False

    def __init__(self, alpha, gamma=3.0, positive=False):
        self.alpha = alpha
        self.gamma = gamma
        self.positive = positive

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import boolean

        return (("alpha", _f64()), ("gamma", _f64()), ("positive", boolean))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict(alpha=float(self.alpha), gamma=float(self.gamma),
                    positive=bool(self.positive))

    def value(self, w):
        """Penalty value ``sum_j phi_j(w_j)``.

        Parameters
        ----------
        w : ndarray of shape (n_features,)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        s = 0.0
        for j in range(w.shape[0]):
            s += P.mcp_value(w[j], self.alpha, self.gamma)
        return s

    def prox_1d(self, value, stepsize, j):
        """Proximal operator of ``stepsize * phi_j`` at ``value``.

        Parameters
        ----------
        value : float
            Point at which the prox is taken.
        stepsize : float
            Step (1 / Lipschitz constant in coordinate descent).
        j : int
            Coordinate index (for per-feature weights or curvatures).

        Returns
        -------
        z : float
            ``argmin_z (z - value)^2 / (2 stepsize) + phi_j(z)``.
        """
        return P.prox_scalar(2, value, stepsize, self.alpha, self.gamma, 1.0, 1.0, self.positive)

    def is_penalized(self, n_features):
        """Which coordinates carry a penalty.

        Parameters
        ----------
        n_features : int
            Number of features.

        Returns
        -------
        mask : ndarray of shape (n_features,), dtype bool
            False for unpenalised features.
        """
        return np.ones(n_features, dtype=np.bool_)


class SCAD:
    r"""Smoothly clipped absolute deviation penalty (Fan & Li 2001).

    Parameters
    ----------
    alpha : float
        Regularisation strength, >= 0.
    gamma : float, default=3.7
        Shape, > 2 (closed-form prox when ``gamma > 1 + step``).
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    See Also
    --------
    MCP : the other folded-concave penalty.

    Notes
    -----
    ``phi(t) = alpha|t|`` (``|t| <= alpha``), ``(2 gamma alpha |t| - t^2 -
    alpha^2)/(2(gamma - 1))`` (``alpha < |t| <= gamma alpha``),
    ``alpha^2 (gamma + 1)/2`` otherwise; prox in spec 7.1.

    References
    ----------
    .. [1] Fan, J. & Li, R. (2001). Variable selection via nonconcave penalized
       likelihood and its oracle properties. JASA 96.

    Examples
    --------
    >>> from sparsecode.convex import SCAD
    >>> SCAD(alpha=1.0).prox_1d(10.0, 1.0, 0)
    10.0
    """

    is_convex = False

    def __init__(self, alpha, gamma=3.7, positive=False):
        self.alpha = alpha
        self.gamma = gamma
        self.positive = positive

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import boolean

        return (("alpha", _f64()), ("gamma", _f64()), ("positive", boolean))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict(alpha=float(self.alpha), gamma=float(self.gamma),
                    positive=bool(self.positive))

    def value(self, w):
        """Penalty value ``sum_j phi_j(w_j)``.

        Parameters
        ----------
        w : ndarray of shape (n_features,)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        s = 0.0
        for j in range(w.shape[0]):
            s += P.scad_value(w[j], self.alpha, self.gamma)
        return s

    def prox_1d(self, value, stepsize, j):
        """Proximal operator of ``stepsize * phi_j`` at ``value``.

        Parameters
        ----------
        value : float
            Point at which the prox is taken.
        stepsize : float
            Step (1 / Lipschitz constant in coordinate descent).
        j : int
            Coordinate index (for per-feature weights or curvatures).

        Returns
        -------
        z : float
            ``argmin_z (z - value)^2 / (2 stepsize) + phi_j(z)``.
        """
        return P.prox_scalar(3, value, stepsize, self.alpha, self.gamma, 1.0, 1.0, self.positive)

    def is_penalized(self, n_features):
        """Which coordinates carry a penalty.

        Parameters
        ----------
        n_features : int
            Number of features.

        Returns
        -------
        mask : ndarray of shape (n_features,), dtype bool
            False for unpenalised features.
        """
        return np.ones(n_features, dtype=np.bool_)


class Lq:
    r"""l_q quasi-norm penalty ``alpha * sum_j |w_j|^q`` for q = 1/2 or 2/3.

    Parameters
    ----------
    alpha : float
        Regularisation strength, >= 0.
    q : {0.5, 2/3}, default=0.5
        Exponent; only these two have closed-form thresholds.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    See Also
    --------
    L0 : the q -> 0 limit.

    Notes
    -----
    q = 1/2: zero iff ``|v| <= (3/2) u^{2/3}`` with ``u = step alpha``, else
    ``(2/3) v [1 + cos((2/3) arccos(-(3^{3/2}/4) u |v|^{-3/2}))]``.
    q = 2/3: zero iff ``|v| <= 2 (2u/3)^{3/4}``, else the Cardano-type root of
    spec 7.1.

    References
    ----------
    .. [1] Xu, Z., Chang, X., Xu, F. & Zhang, H. (2012). L1/2 regularization: a
       thresholding representation theory and a fast solver. IEEE TNNLS.
    .. [2] Cao, W., Sun, J. & Xu, Z. (2013). Fast image deconvolution using
       closed-form thresholding formulas of L_q regularization. JVCIR.

    Examples
    --------
    >>> from sparsecode.convex import Lq
    >>> Lq(alpha=1.0, q=0.5).prox_1d(1.0, 1.0, 0)
    0.0
    """

    is_convex = False

    def __init__(self, alpha, q=0.5, positive=False):
        self.alpha = alpha
        self.q = q
        self.positive = positive

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import boolean

        return (("alpha", _f64()), ("q", _f64()), ("positive", boolean))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict(alpha=float(self.alpha), q=float(self.q), positive=bool(self.positive))

    def value(self, w):
        """Penalty value ``sum_j phi_j(w_j)``.

        Parameters
        ----------
        w : ndarray of shape (n_features,)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        return self.alpha * np.sum(np.abs(w) ** self.q)

    def prox_1d(self, value, stepsize, j):
        """Proximal operator of ``stepsize * phi_j`` at ``value``.

        Parameters
        ----------
        value : float
            Point at which the prox is taken.
        stepsize : float
            Step (1 / Lipschitz constant in coordinate descent).
        j : int
            Coordinate index (for per-feature weights or curvatures).

        Returns
        -------
        z : float
            ``argmin_z (z - value)^2 / (2 stepsize) + phi_j(z)``.
        """
        code = 5 if abs(self.q - 0.5) < 1e-12 else 6
        return P.prox_scalar(code, value, stepsize, self.alpha, 0.0, 1.0, 1.0, self.positive)

    def is_penalized(self, n_features):
        """Which coordinates carry a penalty.

        Parameters
        ----------
        n_features : int
            Number of features.

        Returns
        -------
        mask : ndarray of shape (n_features,), dtype bool
            False for unpenalised features.
        """
        return np.ones(n_features, dtype=np.bool_)


class L0:
    r"""l0 penalty ``alpha * #{j : w_j != 0}``.

    Parameters
    ----------
    alpha : float
        Cost of one non-zero coefficient, >= 0.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    See Also
    --------
    CEL0 : its continuous exact relaxation.

    Notes
    -----
    ``prox(v) = v`` if ``|v| > sqrt(2 step alpha)``, 0 otherwise (hard
    thresholding).

    References
    ----------
    .. [1] Blumensath, T. & Davies, M. (2008). Iterative thresholding for sparse
       approximations. J. Fourier Anal. Appl. 14.

    Examples
    --------
    >>> from sparsecode.convex import L0
    >>> L0(alpha=0.5).prox_1d(0.9, 1.0, 0), L0(alpha=0.5).prox_1d(1.1, 1.0, 0)
    (0.0, 1.1)
    """

    is_convex = False

    def __init__(self, alpha, positive=False):
        self.alpha = alpha
        self.positive = positive

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import boolean

        return (("alpha", _f64()), ("positive", boolean))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        return dict(alpha=float(self.alpha), positive=bool(self.positive))

    def value(self, w):
        """Penalty value ``sum_j phi_j(w_j)``.

        Parameters
        ----------
        w : ndarray of shape (n_features,)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        return self.alpha * np.count_nonzero(w)

    def prox_1d(self, value, stepsize, j):
        """Proximal operator of ``stepsize * phi_j`` at ``value``.

        Parameters
        ----------
        value : float
            Point at which the prox is taken.
        stepsize : float
            Step (1 / Lipschitz constant in coordinate descent).
        j : int
            Coordinate index (for per-feature weights or curvatures).

        Returns
        -------
        z : float
            ``argmin_z (z - value)^2 / (2 stepsize) + phi_j(z)``.
        """
        return P.prox_scalar(4, value, stepsize, self.alpha, 0.0, 1.0, 1.0, self.positive)

    def is_penalized(self, n_features):
        """Which coordinates carry a penalty.

        Parameters
        ----------
        n_features : int
            Number of features.

        Returns
        -------
        mask : ndarray of shape (n_features,), dtype bool
            False for unpenalised features.
        """
        return np.ones(n_features, dtype=np.bool_)


class CEL0:
    r"""Continuous exact l0 penalty (Soubies, Blanc-Feraud & Aubert 2015).

    ``phi_j(t) = alpha - (a_j^2/2)(|t| - sqrt(2 alpha)/a_j)^2`` for
    ``|t| <= sqrt(2 alpha)/a_j``, ``alpha`` otherwise, where ``a_j^2`` is the
    curvature of the datafit along feature j (``||x_j||^2 / n_samples`` for
    the Quadratic datafit).

    Parameters
    ----------
    alpha : float
        The l0 weight, >= 0.
    a2 : array-like of shape (n_features,) or None, default=None
        Curvatures ``a_j^2``; ``None`` lets the fit fill them from the datafit.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.

    See Also
    --------
    L0 : the penalty CEL0 relaxes (same global minimisers for least squares).

    Notes
    -----
    ``prox(v) = sign(v) min(|v|, (|v| - sqrt(2 alpha) a step)_+ / (1 - a^2 step))``
    for ``a^2 step < 1`` (spec 7.1); for coordinate descent (``step = 1/a^2``)
    it is hard thresholding at ``sqrt(2 alpha)/a``.

    References
    ----------
    .. [1] Soubies, E., Blanc-Feraud, L. & Aubert, G. (2015). A continuous exact
       l0 penalty (CEL0) for least squares regularized problem. SIAM J. Imaging Sci.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import CEL0
    >>> round(CEL0(alpha=0.5, a2=np.ones(1)).prox_1d(0.8, 0.5, 0), 6)
    0.6
    """

    is_convex = False

    def __init__(self, alpha, a2=None, positive=False):
        self.alpha = alpha
        self.a2 = a2
        self.positive = positive

    def get_spec(self):
        """Numba types of the attributes, used to compile the jitclass.

        Returns
        -------
        spec : tuple of (str, numba type)
            One entry per attribute.
        """
        from numba import boolean

        return (("alpha", _f64()), ("a2", _arr()), ("positive", boolean))

    def params_to_dict(self):
        """Constructor arguments, used to build a compiled clone.

        Returns
        -------
        params : dict
            Keyword arguments of ``__init__``.
        """
        a2 = np.ones(0) if self.a2 is None else np.asarray(self.a2, dtype=np.float64)
        return dict(alpha=float(self.alpha), a2=a2, positive=bool(self.positive))

    def value(self, w):
        """Penalty value ``sum_j phi_j(w_j)``.

        Parameters
        ----------
        w : ndarray of shape (n_features,)
            Coefficients.

        Returns
        -------
        value : float
            The penalty.
        """
        s = 0.0
        for j in range(w.shape[0]):
            s += P.cel0_value(w[j], self.alpha, self.a2[j])
        return s

    def prox_1d(self, value, stepsize, j):
        """Proximal operator of ``stepsize * phi_j`` at ``value``.

        Parameters
        ----------
        value : float
            Point at which the prox is taken.
        stepsize : float
            Step (1 / Lipschitz constant in coordinate descent).
        j : int
            Coordinate index (for per-feature weights or curvatures).

        Returns
        -------
        z : float
            ``argmin_z (z - value)^2 / (2 stepsize) + phi_j(z)``.
        """
        return P.prox_scalar(7, value, stepsize, self.alpha, 0.0, 1.0, self.a2[j], self.positive)

    def is_penalized(self, n_features):
        """Which coordinates carry a penalty.

        Parameters
        ----------
        n_features : int
            Number of features.

        Returns
        -------
        mask : ndarray of shape (n_features,), dtype bool
            False for unpenalised features.
        """
        return np.ones(n_features, dtype=np.bool_)


# ----------------------------------------------------------------------------
# Python-side description of the built-in penalties (validation, kernel codes)
# ----------------------------------------------------------------------------
def _check_alpha(alpha, owner):
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise ValueError(f"alpha of {owner} must be a real number >= 0; got {alpha!r}.")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha of {owner} must be finite and >= 0; got {alpha!r}.")
    return float(alpha)


def check_weights(weights, n_features, name="weights"):
    """Validate per-feature penalty weights: shape (n_features,), >= 0, no NaN."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n_features:
        raise ValueError(
            f"{name} must have shape ({n_features},), one weight per feature; got shape "
            f"{w.shape}.")
    if np.any(np.isnan(w)):
        raise ValueError(f"{name} contains NaN.")
    if np.any(w < 0):
        raise ValueError(f"{name} must be >= 0 (0 = unpenalised, inf = excluded); got min "
                         f"{w.min()!r}.")
    return w


def is_builtin(penalty):
    return type(penalty) in (L1, WeightedL1, ElasticNetPenalty, MCP, SCAD, Lq, L0, CEL0)


def is_convex(penalty):
    """Convexity as the penalty declares it (its ``is_convex`` attribute;
    absent means non-convex)."""
    return bool(getattr(penalty, "is_convex", False))


def validate_penalty(penalty, n_features):
    """Check the parameters of a built-in penalty; return it (possibly re-typed).

    User penalties are returned unchanged.
    """
    if not is_builtin(penalty):
        missing = [a for a in ("params_to_dict", "value", "prox_1d")
                   if not hasattr(penalty, a)]
        if missing:
            raise TypeError(f"penalty {type(penalty).__name__} lacks {', '.join(missing)}.")
        return penalty
    name = type(penalty).__name__
    _check_alpha(penalty.alpha, name)
    if not isinstance(penalty.positive, (bool, np.bool_)):
        raise ValueError(f"positive of {name} must be a bool; got {penalty.positive!r}.")
    if isinstance(penalty, WeightedL1):
        check_weights(penalty.weights, n_features)
    if isinstance(penalty, ElasticNetPenalty):
        r = penalty.l1_ratio
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real) or \
                not 0 <= r <= 1:
            raise ValueError(f"l1_ratio of ElasticNetPenalty must be a real number in [0, 1]; "
                             f"got {r!r}.")
    if isinstance(penalty, MCP) and not (np.isfinite(penalty.gamma) and penalty.gamma > 1):
        raise ValueError(f"gamma of MCP must be > 1; got {penalty.gamma!r}.")
    if isinstance(penalty, SCAD) and not (np.isfinite(penalty.gamma) and penalty.gamma > 2):
        raise ValueError(f"gamma of SCAD must be > 2; got {penalty.gamma!r}.")
    if isinstance(penalty, Lq):
        q = penalty.q
        if not isinstance(q, numbers.Real) or not (abs(q - 0.5) < 1e-12 or abs(q - 2 / 3) < 1e-12):
            raise ValueError(
                f"q of Lq must be 0.5 or 2/3 (the exponents with closed-form thresholds); "
                f"got {q!r}.")
    if isinstance(penalty, CEL0) and penalty.a2 is not None:
        a2 = np.asarray(penalty.a2, dtype=float)
        if a2.shape != (n_features,) or np.any(~np.isfinite(a2)) or np.any(a2 <= 0):
            raise ValueError(f"a2 of CEL0 must be positive finite of shape ({n_features},).")
    return penalty


def kernel_params(penalty, n_features):
    """(code, alpha, gamma, weights, a2s, positive) for the cached kernels."""
    empty = np.zeros(0)
    t = type(penalty)
    if t is L1:
        return P.L1, float(penalty.alpha), 0.0, empty, empty, bool(penalty.positive)
    if t is WeightedL1:
        return (P.WL1, float(penalty.alpha), 0.0, np.asarray(penalty.weights, dtype=float),
                empty, bool(penalty.positive))
    if t is ElasticNetPenalty:
        a, r = float(penalty.alpha), float(penalty.l1_ratio)
        return P.ENET, a * r, a * (1.0 - r), empty, empty, bool(penalty.positive)
    if t is MCP:
        return P.MCP, float(penalty.alpha), float(penalty.gamma), empty, empty, penalty.positive
    if t is SCAD:
        return P.SCAD, float(penalty.alpha), float(penalty.gamma), empty, empty, penalty.positive
    if t is L0:
        return P.L0, float(penalty.alpha), 0.0, empty, empty, bool(penalty.positive)
    if t is Lq:
        code = P.LHALF if abs(penalty.q - 0.5) < 1e-12 else P.LTWOTHIRDS
        return code, float(penalty.alpha), 0.0, empty, empty, bool(penalty.positive)
    a2 = empty if penalty.a2 is None else np.asarray(penalty.a2, dtype=float)
    return P.CEL0, float(penalty.alpha), 0.0, empty, a2, bool(penalty.positive)


def penalty_weights(penalty, n_features):
    """Per-feature weights of an L1-type penalty (ones for L1)."""
    if isinstance(penalty, WeightedL1):
        return np.asarray(penalty.weights, dtype=float)
    return np.ones(n_features)


def with_alpha(penalty, alpha):
    """A copy of ``penalty`` with another alpha (paths, concomitant scaling)."""
    import copy

    new = copy.copy(penalty)
    new.alpha = float(alpha)
    return new
