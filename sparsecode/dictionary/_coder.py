"""``SparseCoder``: a fixed-dictionary transformer over every registered encoder."""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._parallel import effective_n_jobs
from .._registry import get_encoder
from .._validation import Interval, Options, _is_complex, check_dictionary, check_matrix, validate_params
from ._sparse_encode import _is_dask, check_complex_support, sparse_encode

__all__ = ["SparseCoder"]


class SparseCoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Sparse coding of signals over a fixed dictionary.

    Encodes each row of ``X`` as a sparse combination of the atoms (rows) of
    ``dictionary`` with any algorithm registered in :func:`sparse_encode`:
    the greedy pursuits here and the solvers of the other families.

    Parameters
    ----------
    dictionary : ndarray of shape (n_atoms, n_features)
        The atoms, as rows; they should have unit norm for greedy selection.
        Complex atoms are accepted when ``algorithm`` supports them
        (:func:`sparsecode.dictionary.complex_encoders`: OMP, MP, the
        thresholding family, SBL); any other algorithm raises a
        ``ValueError`` naming it, as :func:`sparse_encode` does.
    algorithm : str, default="omp"
        Encoder name (see :func:`available_encoders`).
    n_nonzero_coefs : int, default=None
        Sparsity level for the greedy and thresholding encoders; when None
        (and ``tol`` is None) ``min(max(1, int(0.1 * n_atoms)), n_features)``.
    alpha : float, default=None
        Regularisation for penalised encoders.
    tol : float, default=None
        Residual tolerance (greedy) or solver tolerance.
    max_iter : int, default=None
        Iteration budget for iterative encoders.
    positive : bool, default=False
        Non-negative codes.
    n_jobs : int, default=None
        Threads over signals (None: 1, -1: all cores; 0 raises ``ValueError``).
    algorithm_params : dict, default=None
        Further parameters of the chosen algorithm.
    output : {"dense", "csr"}, default="dense"
        Format of the codes ``transform`` returns.  ``"csr"`` builds a
        ``scipy.sparse.csr_array`` block by block, without the dense code
        matrix (see :func:`sparse_encode`); with dask input the blocks are
        gathered into one CSR matrix.

    Attributes
    ----------
    components_ : ndarray of shape (n_atoms, n_features)
        The dictionary (validated copy).
    n_components_ : int
        Number of atoms.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    sparse_encode : the function behind ``transform``.

    Notes
    -----
    The codes follow the precision of ``X``: float32 signals give float32
    codes even over a float64 dictionary (complex when ``X`` or the
    dictionary is complex).  ``transform`` accepts scipy.sparse input and
    encodes it one dense block of rows at a time.  ``get_feature_names_out``
    names the atoms ``sparsecoder0``, ``sparsecoder1``, ... and
    ``set_output(transform="pandas")`` is supported.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import SparseCoder
    >>> D = np.eye(4)
    >>> SparseCoder(D, n_nonzero_coefs=1).transform(np.array([[0.0, 2.0, 0.1, 0.0]]))
    array([[0., 2., 0., 0.]])
    """

    _parameter_constraints = {
        "algorithm": [str],
        "n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "alpha": [Interval(numbers.Real, 0, None, closed="left"), None],
        "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "positive": ["boolean"],
        "n_jobs": [Interval(numbers.Integral, None, None), None],
        "algorithm_params": [dict, None],
        "output": [Options("dense", "csr")],
    }

    def __init__(self, dictionary, *, algorithm="omp", n_nonzero_coefs=None, alpha=None,
                 tol=None, max_iter=None, positive=False, n_jobs=None, algorithm_params=None,
                 output="dense"):
        self.dictionary = dictionary
        self.algorithm = algorithm
        self.n_nonzero_coefs = n_nonzero_coefs
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter
        self.positive = positive
        self.n_jobs = n_jobs
        self.algorithm_params = algorithm_params
        self.output = output

    def fit(self, X, y=None):
        """Validate the parameters and the dictionary (nothing is learned).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            Training signals (only their shape is used).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The coder.
        """
        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        effective_n_jobs(self.n_jobs)  # n_jobs=0 -> ValueError
        _, _, accepted = get_encoder(self.algorithm)
        allow_complex = "complex" in accepted
        check_complex_support(self.algorithm, allow_complex, dictionary=self.dictionary)
        self.components_ = check_dictionary(self.dictionary, "dictionary",
                                            allow_complex=allow_complex).copy()
        self.n_components_ = self.components_.shape[0]
        if _is_dask(X):
            self.n_features_in_ = X.shape[1]
        else:
            self._validate_X(X, allow_complex, reset=True)
        if self.n_features_in_ != self.components_.shape[1]:
            raise ValueError(
                f"X has {self.n_features_in_} features but the dictionary atoms have "
                f"{self.components_.shape[1]}."
            )
        return self

    def _validate_X(self, X, allow_complex, *, reset):
        check_complex_support(self.algorithm, allow_complex, X=X)
        if allow_complex and _is_complex(X):
            if sp.issparse(X):
                raise TypeError(
                    "X is a complex scipy.sparse matrix, which SparseCoder does not accept; "
                    "pass a dense array (X.toarray())."
                )
            X = check_matrix(X, "X", allow_complex=True)
            if reset:
                self.n_features_in_ = X.shape[1]
            elif X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but SparseCoder is expecting "
                    f"{self.n_features_in_} features as input."
                )
            return X
        return validate_data(self, X, dtype=[np.float64, np.float32], accept_sparse="csr",
                             reset=reset)

    def transform(self, X):
        """Encode ``X`` over the dictionary.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features), or dask array
            Signals, one per row.  Sparse input is encoded one dense block of
            rows at a time (the same numbers as ``X.toarray()``).

        Returns
        -------
        code : ndarray or scipy.sparse.csr_array of shape (n_samples, n_atoms)
            Sparse codes (a lazy dask array for dask input; a CSR matrix
            when ``output="csr"``), with the
            precision of ``X`` (float32 signals give float32 codes over a
            float64 dictionary), complex when ``X`` or the dictionary is.
        """
        if not hasattr(self, "components_"):
            self.fit(X[:1] if not _is_dask(X) else X)
        check_is_fitted(self)
        if not _is_dask(X):
            allow_complex = "complex" in get_encoder(self.algorithm)[2]
            X = self._validate_X(X, allow_complex, reset=False)
        return sparse_encode(
            X, self.components_, algorithm=self.algorithm,
            n_nonzero_coefs=self.n_nonzero_coefs, alpha=self.alpha, tol=self.tol,
            max_iter=self.max_iter, positive=self.positive, n_jobs=self.n_jobs,
            output=self.output, **(self.algorithm_params or {}))

    def inverse_transform(self, code):
        """Signals reconstructed from codes: ``code @ components_``.

        Parameters
        ----------
        code : array-like or scipy.sparse matrix of shape (n_samples, n_atoms)
            Codes, dense or CSR (as ``transform`` returns with ``output="csr"``).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Reconstructed signals.
        """
        check_is_fitted(self)
        code = check_matrix(code, "code", allow_complex=True, accept_sparse="csr")
        if code.shape[1] != self.n_components_:
            raise ValueError(
                f"code has {code.shape[1]} columns but the dictionary has "
                f"{self.n_components_} atoms."
            )
        return np.asarray(code @ self.components_)

    @property
    def _n_features_out(self):
        """Number of output features (atoms), for ``get_feature_names_out``."""
        if hasattr(self, "components_"):
            return self.components_.shape[0]
        return np.shape(self.dictionary)[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
