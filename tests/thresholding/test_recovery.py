"""Exact recovery, agreement with naive reference implementations, batching,
operators, dtypes (spec 4.2-4.5, 4.7)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsecode as sc
from sparsecode._base import ConvergenceWarning

from . import _reference as ref
from .conftest import gaussian_problem, rel_err

KNOWN_S = {
    "nst_ht_fb": sc.nst_ht_fb,
    "htp": sc.htp,
    "cosamp": sc.cosamp,
    "subspace_pursuit": sc.subspace_pursuit,
    "iht": sc.iht,
    "niht": sc.niht,
}
LS_BASED = ["nst_ht_fb", "htp", "cosamp", "subspace_pursuit"]


# --------------------------------------------------------------------------
# exact recovery in the RIP-friendly regime (hypothesis: seeds and sizes)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in KNOWN_S if n != "iht"])
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), N=st.integers(80, 200), s=st.integers(1, 4))
def test_exact_recovery(name, seed, N, s):
    # m = min(N/2, 10 s log N): inside the recovery region of these methods
    # for Gaussian A.  IHT is tested separately below: at these sizes no RIP
    # condition of IHT holds (delta_3s < 1/sqrt(3) needs far more rows).
    m = min(N // 2, int(10 * s * np.log(N)))
    A, x, y = gaussian_problem(m, N, s, seed=seed)
    res = KNOWN_S[name](A, y, n_nonzero_coefs=s)
    tol = 1e-9 if name in LS_BASED else 1e-4  # NIHT converges linearly to tol=1e-6
    assert rel_err(res.coef, x) < tol
    assert set(np.flatnonzero(res.coef)) == set(np.flatnonzero(x))
    assert res.converged


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), N=st.integers(80, 200), s=st.integers(1, 4))
def test_iht_default_step_is_monotone(seed, N, s):
    # What theory guarantees for the default step mu = 1/||A||_2^2 at any
    # size: IHT is then a majorisation-minimisation method, the residual never
    # increases (Blumensath & Davies 2008), so it cannot diverge; it stops at
    # a fixed point (possibly a local one) or reaches the residual tolerance,
    # and a target that reaches the tolerance is the exact solution here
    # (noiseless, s < spark(A)/2 since m >= 2s + 1 for Gaussian A).
    m = min(N // 2, int(10 * s * np.log(N)))
    A, x, y = gaussian_problem(m, N, s, seed=seed)
    with warnings.catch_warnings():
        # linear convergence: max_iter may be reached (and is then reported)
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = sc.iht(A, y, n_nonzero_coefs=s)
    assert np.all(np.isfinite(res.coef))
    assert res.status != 3  # never diverged
    assert res.residual_norm <= np.linalg.norm(y) * (1 + 1e-12)
    assert np.count_nonzero(res.coef) <= s
    if res.status == 1:
        assert rel_err(res.coef, x) < 1e-4


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), s=st.integers(1, 3))
def test_iht_unit_step_exact_recovery_under_rip(seed, s):
    # IHT with mu = 1 recovers every s-sparse x when delta_3s < 1/sqrt(3)
    # (Foucart & Rauhut 2013, Thm 6.18); delta_k <= (k - 1) * coherence for
    # unit-norm columns (ibid., Prop. 6.2).  [I, H/sqrt(m)] (identity and
    # normalised Hadamard, m = 256) has coherence 1/16, so
    # delta_3s <= (3s - 1)/16 <= 1/2 < 1/sqrt(3) for s <= 3: recovery is
    # guaranteed, with the linear rate sqrt(3) delta_3s <= 0.87.
    from scipy.linalg import hadamard

    m = 256
    A = np.hstack([np.eye(m), hadamard(m) / np.sqrt(m)])
    coh = np.max(np.abs(A.T @ A - np.eye(2 * m)))
    assert (3 * s - 1) * coh < 1 / np.sqrt(3)
    rng = np.random.default_rng(seed)
    x = np.zeros(2 * m)
    x[rng.choice(2 * m, s, replace=False)] = rng.standard_normal(s)
    res = sc.iht(A, A @ x, n_nonzero_coefs=s, step=1.0)
    assert res.converged and res.status == 1
    assert set(np.flatnonzero(res.coef)) == set(np.flatnonzero(x))
    assert rel_err(res.coef, x) < 1e-5


def test_iht_unit_step_outside_rip_is_flagged():
    # The fresh-clone failure (N=80, s=4, seed 0, m=40): outside the RIP
    # regime IHT with mu = 1 need not converge.  It must say so (a
    # ConvergenceWarning, converged False), never return a wrong x silently.
    A, x, y = gaussian_problem(40, 80, 4, seed=0)
    for seed in (0, 1):  # seed 0: max_iter; seed 1: diverges
        A, x, y = gaussian_problem(40, 80, 4, seed=seed)
        with pytest.warns(ConvergenceWarning):
            res = sc.iht(A, y, n_nonzero_coefs=4, step=1.0)
        assert not res.converged
        assert np.all(np.isfinite(res.coef))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), N=st.integers(60, 160), s=st.integers(1, 5))
def test_adaptive_finds_sparsity(seed, N, s):
    m = min(N - 1, int(8 * s * np.log(N)))
    A, x, y = gaussian_problem(m, N, s, seed=seed)
    for schedule in ("linear", "quadratic"):
        res = sc.adaptive_nst_ht_fb(A, y, schedule=schedule)
        assert res.n_nonzero_coefs == s
        assert set(np.flatnonzero(res.coef)) == set(np.flatnonzero(x))
        assert rel_err(res.coef, x) < 1e-9


def test_adaptive_schedule_callable_and_growth():
    A, x, y = gaussian_problem(120, 300, 12, seed=3)
    calls = []

    def f(k):
        calls.append(k)
        return 3 * k

    res = sc.adaptive_nst_ht_fb(A, y, schedule=f)
    assert res.n_nonzero_coefs == 12 and rel_err(res.coef, x) < 1e-9
    # support sizes 3, 6, 9, 12, ...: at least 4 iterations before |T_k| >= s,
    # and the schedule was evaluated exactly at k = 1 .. n_iter
    assert res.n_iter >= 4
    assert set(calls) == set(range(1, res.n_iter + 1))
    slow = sc.adaptive_nst_ht_fb(A, y, growth=1)
    fast = sc.adaptive_nst_ht_fb(A, y, growth=6)
    assert slow.n_iter >= 12 > fast.n_iter  # |T_k| = k needs k >= s
    assert slow.schedule == "1k" and fast.schedule == "6k"
    est = sc.AdaptiveNSTHTFB(growth=4).fit(A, y)
    assert est.n_nonzero_coefs_ == 12 and est.schedule_ == "4k"


# --------------------------------------------------------------------------
# the same iterates as the naive references (hard regime: no early success)
# --------------------------------------------------------------------------
def _hard(seed, complex_=False):
    # s close to the phase transition: the iterations do not stop in 1-2 steps
    return gaussian_problem(40, 100, 14, seed=seed, complex_=complex_)


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("n_iter", [1, 2, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_reference_iterates(seed, n_iter, complex_):
    A, x, y = _hard(seed, complex_)
    s = 14
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # max_iter=n_iter and tol=0: exactly n_iter iterations unless a fixed point
        got = sc.nst_ht_fb(A, y, n_nonzero_coefs=s, max_iter=n_iter, tol=0)
        want = ref.nst_ht_fb(A, y, s, got.n_iter)
        assert rel_err(got.coef, want) < 1e-9
        mu = 1.0 / np.mean(np.sum(np.abs(A) ** 2, axis=0))
        got = sc.htp(A, y, n_nonzero_coefs=s, max_iter=n_iter, tol=0)
        assert rel_err(got.coef, ref.htp(A, y, s, got.n_iter, mu)) < 1e-9
        got = sc.iht(A, y, n_nonzero_coefs=s, max_iter=n_iter, tol=0)
        mu = 1.0 / np.linalg.norm(A, 2) ** 2
        assert rel_err(got.coef, ref.iht(A, y, s, n_iter, mu)) < 1e-9
        got = sc.niht(A, y, n_nonzero_coefs=s, max_iter=n_iter, tol=0)
        assert rel_err(got.coef, ref.niht(A, y, s, n_iter)) < 1e-9
        got = sc.cosamp(A, y, n_nonzero_coefs=s, max_iter=n_iter, tol=0)
        assert rel_err(got.coef, ref.cosamp(A, y, s, n_iter)) < 1e-9
        got = sc.subspace_pursuit(A, y, n_nonzero_coefs=s, max_iter=n_iter, tol=0)
        assert rel_err(got.coef, ref.subspace_pursuit(A, y, s, n_iter)) < 1e-9


def test_nst_is_preconditioned_htp_step():
    # spec 4.2 identity, one step from u = 0: x~ = A^+ y is the minimum-norm
    # solution (A x~ = y), and the feedback equals least squares on T
    A, x, y = _hard(5)
    s = 14
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        got = sc.nst_ht_fb(A, y, n_nonzero_coefs=s, max_iter=1, tol=0).coef
    xt = np.linalg.lstsq(A, y, rcond=None)[0]  # minimum-norm solution
    T = ref.top(xt, s)
    assert rel_err(got, ref.ls(A, y, T)) < 1e-10


# --------------------------------------------------------------------------
# batching, operators, sparse matrices, dtypes
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(KNOWN_S))
def test_batch_equals_loop(name):
    A, X, Y = gaussian_problem(50, 120, 8, seed=11, n_targets=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = KNOWN_S[name](A, Y, n_nonzero_coefs=8)
        for l in range(6):
            single = KNOWN_S[name](A, Y[:, l], n_nonzero_coefs=8)
            np.testing.assert_allclose(batch.coef[:, l], single.coef, rtol=0, atol=1e-10)
            assert batch.n_iter[l] == single.n_iter
    assert batch.coef.shape == (120, 6)


@pytest.mark.parametrize("name", list(KNOWN_S) + ["adaptive"])
def test_operator_sparse_dense_agree(name):
    # a partial DCT (sparsecode.operators) against its explicit matrix
    from sparsecode.operators import PartialDCT

    n, m, s = 256, 96, 8
    op = PartialDCT(n, m, random_state=0, scale=np.sqrt(n / m))
    D = op.toarray()
    rng = np.random.default_rng(1)
    X = np.zeros((n, 3))
    for l in range(3):
        X[rng.choice(n, s, replace=False), l] = rng.standard_normal(s)
    Y = D @ X
    if name == "adaptive":
        def f(A):
            return sc.adaptive_nst_ht_fb(A, Y)
    else:
        def f(A):
            kw = {"step": 1.0} if name == "iht" else {}
            return KNOWN_S[name](A, Y, n_nonzero_coefs=s, **kw)
    r_dense, r_op, r_sp = f(D), f(op), f(sp.csr_matrix(D))
    assert np.max(np.abs(r_op.coef - r_dense.coef)) < 1e-10 * np.max(np.abs(X))
    assert np.max(np.abs(r_sp.coef - r_dense.coef)) < 1e-10 * np.max(np.abs(X))
    if name not in ("iht", "niht"):
        assert rel_err(r_dense.coef, X) < 1e-10


def test_operator_without_matmat_and_cg_projection():
    # a LinearOperator defined by matvec/rmatvec only, and CG for (A A^T)^{-1}
    from scipy.sparse.linalg import LinearOperator

    A, X, Y = gaussian_problem(60, 150, 6, seed=2, n_targets=2)

    bare = LinearOperator(A.shape, matvec=lambda v: A @ v, rmatvec=lambda v: A.T @ v,
                          dtype=np.float64)
    r = sc.nst_ht_fb(bare, Y, n_nonzero_coefs=6)
    assert rel_err(r.coef, X) < 1e-10
    r2 = sc.nst_ht_fb(A, Y, n_nonzero_coefs=6, projection="cg", ls_solver="cg")
    r3 = sc.nst_ht_fb(A, Y, n_nonzero_coefs=6, projection="cholesky", ls_solver="qr")
    assert np.max(np.abs(r2.coef - r3.coef)) < 1e-10


@pytest.mark.parametrize("name", list(KNOWN_S))
def test_complex_recovery(name):
    A, x, y = gaussian_problem(60, 128, 4, seed=4, complex_=True)
    kw = {"step": 1.0} if name == "iht" else {}
    res = KNOWN_S[name](A, y, n_nonzero_coefs=4, **kw)
    assert res.coef.dtype == np.complex128
    assert rel_err(res.coef, x) < (1e-9 if name in LS_BASED else 1e-4)


def test_complex_signal_real_operator():
    from sparsecode.operators import PartialDCT

    op = PartialDCT(128, 60, random_state=3)
    D = op.toarray()
    x = np.zeros(128, dtype=complex)
    x[[3, 70, 100]] = [1 + 1j, -2, 0.5j]
    r = sc.nst_ht_fb(op, D @ x, n_nonzero_coefs=3)
    assert r.coef.dtype == np.complex128 and rel_err(r.coef, x) < 1e-10


@pytest.mark.parametrize("name", list(KNOWN_S))
def test_float32_in_float32_out(name):
    A, x, y = gaussian_problem(100, 128, 4, seed=6)
    kw = {"step": 1.0} if name == "iht" else {}
    res = KNOWN_S[name](A.astype(np.float32), y.astype(np.float32), n_nonzero_coefs=4, **kw)
    assert res.coef.dtype == np.float32
    assert rel_err(res.coef, x) < 1e-4
    est = sc.NSTHTFB(n_nonzero_coefs=4).fit(A.astype(np.float32), y.astype(np.float32))
    assert est.coef_.dtype == np.float32


def test_inputs_not_modified():
    A, x, y = gaussian_problem(50, 100, 5, seed=8)
    A.flags.writeable = False
    y.flags.writeable = False
    for f in KNOWN_S.values():
        f(A, y, n_nonzero_coefs=5)
    sc.adaptive_nst_ht_fb(A, y)


def test_zero_target():
    A, x, y = gaussian_problem(50, 100, 5, seed=8)
    Y = np.column_stack([y, np.zeros(50)])
    for f in KNOWN_S.values():
        r = f(A, Y, n_nonzero_coefs=5)
        assert np.all(r.coef[:, 1] == 0) and r.n_iter[1] == 0


# --------------------------------------------------------------------------
# published figures and claims (spec 4.4, 4.7)
# --------------------------------------------------------------------------
def _ill_conditioned(m, N, kappa, rng):
    U = np.linalg.qr(rng.standard_normal((m, m)))[0]
    V = np.linalg.qr(rng.standard_normal((N, m)))[0]
    sig = np.geomspace(1, 1 / kappa, m)
    A = (U * sig) @ V.T
    return A / np.linalg.norm(A, axis=0)


def test_nst_robust_to_conditioning():
    # spec 4.7 test 3 (smaller): at kappa = 1e4 NST+HT+FB recovers, HTP does not
    rng = np.random.default_rng(0)
    m, N, s = 120, 240, 15
    ok_nst = ok_htp = 0
    for _ in range(2):
        A = _ill_conditioned(m, N, 1e4, rng)
        X = np.zeros((N, 3))
        for j in range(3):
            X[rng.choice(N, s, replace=False), j] = rng.standard_normal(s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for name, f, kw in [("nst", sc.nst_ht_fb, {}), ("htp", sc.htp, {"max_iter": 30})]:
                Xh = f(A, A @ X, n_nonzero_coefs=s, **kw).coef
                ok = np.sum(np.linalg.norm(Xh - X, axis=0) / np.linalg.norm(X, axis=0) < 1e-4)
                if name == "nst":
                    ok_nst += ok
                else:
                    ok_htp += ok
    assert ok_nst >= 5
    assert ok_htp <= 1


def test_authors_iteration_count_s101():
    # Han et al. (hansanfei/NSTHTfFB): m=500, N=1000, s=101: success 1.0 and
    # 5.4 iterations on average (known s); 11.2 for f(k)=10k.  2 matrices x 4
    # signals, each matrix's signals solved in one batched call.
    rng = np.random.default_rng(2024)
    it_known, it_10k = [], []
    for _ in range(2):
        A = rng.standard_normal((500, 1000))
        A /= np.linalg.norm(A, axis=0)
        X = np.zeros((1000, 4))
        for j in range(4):
            X[rng.choice(1000, 101, replace=False), j] = rng.standard_normal(101)
        Y = A @ X
        r = sc.nst_ht_fb(A, Y, n_nonzero_coefs=101)
        assert rel_err(r.coef, X) < 1e-4
        it_known.extend(r.n_iter)
        r = sc.adaptive_nst_ht_fb(A, Y, growth=10)
        assert rel_err(r.coef, X) < 1e-4
        it_10k.extend(r.n_iter)
    assert 4.0 <= np.mean(it_known) <= 7.0
    assert 9.5 <= np.mean(it_10k) <= 13.0


def test_iterations_grow_with_dynamic_range_not_size():
    # spec 4.4: the iteration count depends on log(||x|| / min |x_j|), not on N
    rng = np.random.default_rng(1)
    iters = {}
    for N in (200, 800):
        m = N // 2
        A = rng.standard_normal((m, N))
        A /= np.linalg.norm(A, axis=0)
        x = np.zeros(N)
        x[rng.choice(N, 10, replace=False)] = rng.choice([-1.0, 1.0], 10)
        iters[N] = sc.nst_ht_fb(A, A @ x, n_nonzero_coefs=10).n_iter
    assert max(iters.values()) <= 3


def test_ls_solvers_agree_and_cholesky_falls_back_to_qr():
    # the LS kernel on supports of different sizes (CoSaMP merges) and on an
    # ill-conditioned restriction (two nearly parallel columns: cond(A_T)^2
    # ~ 1e13 > 1e10, so the Cholesky path must hand that target to QR)
    from sparsecode.thresholding._linalg import _Op, ls_on_support

    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 60))
    A[:, 1] = A[:, 0] + 1e-6 * rng.standard_normal(40)
    Y = rng.standard_normal((40, 3))
    mask = np.zeros((60, 3), dtype=bool)
    mask[[0, 1, 5, 9], 0] = True           # ill-conditioned pair
    mask[[2, 3, 4], 1] = True              # 3 columns
    mask[rng.choice(60, 12, replace=False), 2] = True
    op = _Op(A, np.float64)
    for method in ("cholesky", "qr", "cg"):
        Z, R = ls_on_support(op, Y, mask, method=method, cg_tol=1e-14)
        for j in range(3):
            T = np.flatnonzero(mask[:, j])
            ref = np.linalg.lstsq(A[:, T], Y[:, j], rcond=None)[0]
            tol = 1e-3 if (method == "cg" and j == 0) else 1e-8
            np.testing.assert_allclose(Z[T, j], ref, rtol=tol, atol=tol)
            assert np.all(Z[~mask[:, j], j] == 0)
            np.testing.assert_allclose(R[:, j], Y[:, j] - A @ Z[:, j], atol=1e-8)
