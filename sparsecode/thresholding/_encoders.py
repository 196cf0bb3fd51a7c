"""Registration of the thresholding solvers as ``sparse_encode`` encoders.

An encoder receives signals as rows ``X`` (n_samples, n_features) and the
dictionary with atoms as rows ``D`` (n_atoms, n_features); the recovery
solvers see ``A = D^T`` and ``Y = X^T`` and solve every signal in one batch.
"""

from .._registry import register_encoder

__all__ = []

_COMMON = ("n_nonzero_coefs", "tol", "max_iter", "verbose", "complex")


def _solve(func, X, D, kwargs):
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return func(D.T, X.T, **kwargs).coef.T


def _make(name, func_path, description, extra=(), common=_COMMON):
    @register_encoder(name, description=description, params=common + tuple(extra))
    def _encode(X, D, **kwargs):
        import importlib

        mod, fn = func_path.rsplit(".", 1)
        func = getattr(importlib.import_module(mod, __package__), fn)
        if not kwargs.get("verbose"):
            kwargs.pop("verbose", None)
        return _solve(func, X, D, kwargs)

    _encode.__name__ = f"_encode_{name}"
    return _encode


_make("iht", "._iht.iht", "Iterative Hard Thresholding (batched over signals)", ("step",))
_make("niht", "._iht.niht", "Normalised Iterative Hard Thresholding")
_make("htp", "._htp.htp", "Hard Thresholding Pursuit", ("step", "ls_solver", "cg_tol"))
_make("cosamp", "._cosamp.cosamp", "Compressive Sampling Matching Pursuit",
      ("ls_solver", "cg_tol"))
_make("sp", "._cosamp.subspace_pursuit", "Subspace Pursuit", ("ls_solver", "cg_tol"))
_make("nst_ht_fb", "._nst_ht_fb.nst_ht_fb",
      "NST+HT+FB: preconditioned hard thresholding with feedback (A A^T factorised once)",
      ("projection", "ls_solver", "cg_tol"))
_make("adaptive_nst_ht_fb", "._nst_ht_fb.adaptive_nst_ht_fb",
      "Adaptive NST+HT+FB: growing support, no sparsity level needed",
      ("schedule", "growth", "projection", "ls_solver", "cg_tol", "prune_tol"),
      common=("tol", "max_iter", "verbose", "complex"))
