"""
=====================================
Adding a penalty: box-constrained L1
=====================================

A penalty is a small class with ``value`` and ``prox_1d`` (plus
``params_to_dict``): its methods are compiled by Numba and run inside the
compiled working-set coordinate descent, with the intercept, sparse designs
and the KKT certificate of the built-in penalties.  ``is_convex = True``
declares it convex, so the square-root and LAD datafits accept it too.
Here ``phi(w) = alpha |w|`` on ``|w| <= c`` (``+inf`` outside), for
coefficients known to be bounded by ``c``.
"""

import matplotlib.pyplot as plt
import numpy as np

from sparsecode.convex import AndersonCD, Lasso, PenalizedRegression, Quadratic


class BoxL1:
    is_convex = True

    def __init__(self, alpha, c):
        self.alpha, self.c = alpha, c

    def params_to_dict(self):
        return dict(alpha=self.alpha, c=self.c)

    def value(self, w):
        return self.alpha * np.sum(np.abs(w))  # w stays in the box

    def prox_1d(self, value, stepsize, j):
        z = np.sign(value) * max(abs(value) - stepsize * self.alpha, 0.0)
        return min(max(z, -self.c), self.c)


rng = np.random.default_rng(0)
X = rng.standard_normal((80, 200))
w_true = np.zeros(200)
w_true[:10] = rng.choice([-1.0, 1.0], 10)
y = X @ w_true + 0.5 * rng.standard_normal(80)

box = PenalizedRegression(Quadratic(), BoxL1(alpha=0.01, c=1.0), AndersonCD(tol=1e-8)).fit(X, y)
lasso = Lasso(alpha=0.01, tol=1e-8).fit(X, y)

fig, ax = plt.subplots(figsize=(7, 3))
ax.stem(w_true[:30], linefmt="k-", markerfmt="ko", basefmt=" ", label="true")
ax.plot(lasso.coef_[:30], "bs", label="Lasso")
ax.plot(box.coef_[:30], "r^", label="box-constrained L1 (user penalty)")
ax.set_xlabel("feature")
ax.legend()
print(f"KKT residual {box.kkt_violation_:.1e}; max |w|: Lasso {np.abs(lasso.coef_).max():.2f}, "
      f"box-constrained {np.abs(box.coef_).max():.2f}")
plt.show()
