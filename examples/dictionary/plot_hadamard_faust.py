"""
======================================================================
The Hadamard matrix as a product of sparse factors (FAuST)
======================================================================

Le Magoarou & Gribonval showed that the hierarchical palm4MSA factorisation
finds, without being told, the butterfly structure of the fast Walsh-Hadamard
transform: the :math:`n \\times n` Hadamard matrix is the product of
:math:`\\log_2 n` factors with two non-zeros per row and column, so applying
it costs :math:`2 n \\log_2 n` instead of :math:`n^2` multiplications
(relative complexity :math:`2\\log_2 n / n`, 0.3125 for :math:`n = 32`).

:func:`~sparsecode.hierarchical_factorization` peels one ``splincol(2)``
factor at a time off the residual (constraint ``splincol(n / 2^l)``) and
refits all factors after each split.  The figure shows the support of each
factor and the relative error reached.  Default: :math:`n = 32`;
``SPARSECODE_FULL=1``: also :math:`n = 64` and :math:`128`.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from scipy.linalg import hadamard

from sparsecode import hierarchical_factorization

FULL = os.environ.get("SPARSECODE_FULL") == "1"
SIZES = [32, 64, 128] if FULL else [32]

results = {}
for n in SIZES:
    M = int(np.log2(n))
    H = hadamard(n).astype(float)
    res = hierarchical_factorization(
        H, [("splincol", 2)] * (M - 1), [("splincol", n // 2**j) for j in range(1, M)])
    results[n] = res
    nnz = sum(f.nnz for f in res.factors)
    print(f"n = {n}: relative error {res.error:.1e}, {nnz} non-zeros, "
          f"relative complexity {res.relative_complexity:.4f} (theory {2 * M / n:.4f})")

# %%
# The factors found for n = 32
# ----------------------------
res = results[32]
fig, axes = plt.subplots(1, len(res.factors) + 1, figsize=(13, 3.2))
for j, (ax, f) in enumerate(zip(axes, res.factors)):
    ax.spy(f.toarray(), markersize=2.5)
    ax.set_title(f"factor {j + 1}: {f.nnz} nnz")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
prod = res.lambda_ * np.linalg.multi_dot([f.toarray() for f in res.factors])
im = axes[-1].imshow(prod, cmap="RdBu", vmin=-1, vmax=1)
axes[-1].set_title(f"product, rel. error {res.error:.0e}")
axes[-1].set_xlabel("column")
fig.colorbar(im, ax=axes[-1], label="entry")
fig.suptitle("Hierarchical palm4MSA on the 32x32 Hadamard matrix "
             f"(relative complexity {res.relative_complexity:.4f})")
fig.tight_layout()
