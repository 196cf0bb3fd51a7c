"""
==================================================================
Photon-limited recovery with SPIRAL-TAP against projected gradient
==================================================================

The photon-limited compressed-sensing experiment of Harmany, Marcia and
Willett ("This is SPIRAL-TAP", IEEE TIP 2012) at small size.  Counts
``y ~ Poisson(A f)`` are observed through a random Bernoulli(1/2) sensing
matrix scaled to a mean count of about 15 photons per measurement, and the
non-negative intensity ``f`` is recovered by minimising the Poisson negative
log-likelihood plus ``tau * pen(f)``:

* top: a sparse signal (1.5 % non-zeros), ``pen = ||f||_1``;
* bottom: a piecewise-constant image, ``pen = TV(f)`` (anisotropic).

SPIRAL-TAP (separable quadratic model with a Barzilai-Borwein curvature and
the non-monotone acceptance test) is compared with a plain projected
(proximal) gradient with backtracking on the *same* objective: the right
panels plot the objective gap against the number of products with ``A`` and
``A^T``, the cost unit of matrix-free imaging.  The gap is measured to the
best objective either method reached.  Set ``SPARSECODE_FULL=1`` for the
paper's size (n = 4000, m = 1600; a 64 x 64 image).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from sparsecode.convex import spiral_tap, tv2d_prox

FULL = os.environ.get("SPARSECODE_FULL") == "1"
rng = np.random.default_rng(0)

# %%
# Sparse signal, l1 penalty
n, m = (4000, 1600) if FULL else (1000, 400)
A = rng.integers(0, 2, size=(m, n)).astype(float)
f_true = np.zeros(n)
k = int(0.015 * n)
f_true[rng.choice(n, k, replace=False)] = rng.uniform(50, 150, k)
A *= 15.0 / (A @ f_true).mean()
y = rng.poisson(A @ f_true).astype(float)
tau = 0.1

f_sp, info = spiral_tap(A, y, tau, tol=1e-9, max_iter=5000)


def l1_objective(f, Af):
    """Poisson negative log-likelihood (``beta = 1e-10`` as in SPIRAL-TAP) + tau ||f||_1."""
    return Af.sum() - np.sum(y * np.log(Af + 1e-10)) + tau * f.sum()


def projected_gradient_l1(n_iter):
    """Projected gradient with backtracking (non-increasing step), the paper's baseline.

    ``f+ = max(f - s (grad + tau), 0)`` (for ``f >= 0`` the l1 penalty is linear), the
    step ``s`` halved until the quadratic upper bound holds.  Starts where SPIRAL-TAP
    starts; counts the products with ``A`` and ``A^T``.
    """
    Aty, At1 = A.T @ y, A.T @ np.ones(m)
    f = (y.sum() * n / (Aty.sum() * At1.sum())) * Aty
    Af = A @ f
    phi, s, count = l1_objective(f, Af), 1.0, 3
    hist, prods = [phi], [count]
    for _ in range(n_iter):
        g = A.T @ (1 - y / (Af + 1e-10)) + tau
        count += 1
        while True:
            fn = np.maximum(f - s * g, 0.0)
            Afn = A @ fn
            count += 1
            d = fn - f
            phi_n = l1_objective(fn, Afn)
            if phi_n <= phi + g @ d + d @ d / (2 * s) or s < 1e-300:
                break
            s *= 0.5
        f, Af, phi = fn, Afn, phi_n
        hist.append(phi)
        prods.append(count)
    return f, np.array(hist), np.array(prods)


f_pg, hist_pg, prods_pg = projected_gradient_l1(20 * info.n_iter)
best = min(info.objective, hist_pg.min())
print(f"l1: SPIRAL-TAP {info.n_iter} iterations, {info.products_history[-1]} products, "
      f"{info.n_rejected} rejected trials; projected gradient "
      f"{prods_pg[-1]} products; objectives {info.objective:.10g} / {hist_pg[-1]:.10g}")

# %%
# Piecewise-constant image, TV penalty
side = 64 if FULL else 32
img = np.full((side, side), 2.0)
img[side // 8: side // 2, side // 8: 5 * side // 8] = 30.0
img[side // 2: 7 * side // 8, side // 3: 7 * side // 8] = 15.0
rr, cc = np.ogrid[:side, :side]
img[(rr - 3 * side // 4) ** 2 + (cc - side // 5) ** 2 < (side // 8) ** 2] = 40.0
N = side * side
M = N // 2
B = rng.integers(0, 2, size=(M, N)).astype(float)
B *= 15.0 / (B @ img.ravel()).mean()
yb = rng.poisson(B @ img.ravel()).astype(float)
tau_tv = 0.05

f_tv, info_tv = spiral_tap(B, yb, tau_tv, penalty="tv", image_shape=(side, side), tol=1e-7,
                           max_iter=400, min_iter=5)


def tv_objective(f):
    Af = B @ f
    P = np.abs(np.diff(f.reshape(side, side), axis=0)).sum() + \
        np.abs(np.diff(f.reshape(side, side), axis=1)).sum()
    return Af.sum() - np.sum(yb * np.log(Af + 1e-10)) + tau_tv * P


def prox_gradient_tv(n_iter):
    """Proximal gradient with backtracking (non-increasing step) on the same objective."""
    f = np.full(N, yb.sum() / (B.sum()))
    phi, s = tv_objective(f), 1.0
    hist, prods, count = [phi], [1], 1
    dual = None
    for _ in range(n_iter):
        Af = B @ f
        g = B.T @ (1 - yb / (Af + 1e-10))
        count += 2
        while True:
            fn, dual, _ = tv2d_prox((f - s * g).reshape(side, side), s * tau_tv, lower=0.0,
                                    max_iter=200, tol=1e-7, dual_init=dual, return_dual=True)
            fn = fn.ravel()
            count += 1
            d = fn - f
            phi_n = tv_objective(fn)
            Pn = tau_tv * (np.abs(np.diff(fn.reshape(side, side), axis=0)).sum()
                           + np.abs(np.diff(fn.reshape(side, side), axis=1)).sum())
            P0 = tau_tv * (np.abs(np.diff(f.reshape(side, side), axis=0)).sum()
                           + np.abs(np.diff(f.reshape(side, side), axis=1)).sum())
            if phi_n - Pn <= phi - P0 + g @ d + d @ d / (2 * s) or s < 1e-12:
                break
            s *= 0.5
        f, phi = fn, phi_n
        hist.append(phi)
        prods.append(count)
    return f, np.array(hist), np.array(prods)


f_pg_tv, hist_tv, prods_tv = prox_gradient_tv(3 * info_tv.n_iter)
best_tv = min(info_tv.objective, hist_tv.min())
print(f"TV: SPIRAL-TAP {info_tv.n_iter} iterations, {info_tv.products_history[-1]} products; "
      f"proximal gradient {prods_tv[-1]} products; objectives {info_tv.objective:.10g} / "
      f"{hist_tv[-1]:.10g}")

# %%
# Figure
fig, ax = plt.subplots(2, 3, figsize=(13, 7.5))
ax[0, 0].stem(np.flatnonzero(f_true), f_true[f_true > 0], linefmt="k-", markerfmt="ko",
              basefmt=" ", label="truth")
ax[0, 0].plot(f_sp, "r.", ms=3, label="SPIRAL-TAP")
ax[0, 0].set_title(f"sparse intensity, n={n}, m={m}")
ax[0, 0].legend()
ax[0, 1].axis("off")
ax[0, 1].text(0.0, 0.5, f"mean count {y.mean():.1f}\nmax count {y.max():.0f}\n"
              f"relative error {np.linalg.norm(f_sp - f_true) / np.linalg.norm(f_true):.3f}",
              fontsize=12)
ax[0, 2].semilogy(info.products_history, info.objective_history - best + 1e-12,
                  label="SPIRAL-TAP")
ax[0, 2].semilogy(prods_pg, hist_pg - best + 1e-12, label="projected gradient")
ax[0, 2].set_xlabel("products with A and A^T")
ax[0, 2].set_ylabel("objective - best")
ax[0, 2].legend()
ax[1, 0].imshow(img, cmap="gray")
ax[1, 0].set_title("image (truth)")
ax[1, 1].imshow(f_tv.reshape(side, side), cmap="gray")
ax[1, 1].set_title(f"SPIRAL-TAP, TV, m = N/2, mean count {yb.mean():.0f}")
ax[1, 2].semilogy(info_tv.products_history, info_tv.objective_history - best_tv + 1e-9,
                  label="SPIRAL-TAP")
ax[1, 2].semilogy(prods_tv, hist_tv - best_tv + 1e-9, label="proximal gradient")
ax[1, 2].set_xlabel("products with A and A^T")
ax[1, 2].legend()
for a in (ax[1, 0], ax[1, 1]):
    a.set_xticks([])
    a.set_yticks([])
fig.tight_layout()
plt.show()
