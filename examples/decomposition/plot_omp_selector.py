"""
==========================================================================
Greedy feature selection: OMPSelector vs SequentialFeatureSelector, Lasso
==========================================================================

:class:`~sparsecode.OMPSelector` chooses features by Orthogonal Matching
Pursuit on standardised columns: one least-squares pass per selected
feature.  scikit-learn's
:class:`~sklearn.feature_selection.SequentialFeatureSelector` with a
:class:`~sklearn.linear_model.LinearRegression` cross-validates one model
per candidate feature at every step, and
:class:`~sklearn.feature_selection.SelectFromModel` with a
:class:`~sklearn.linear_model.Lasso` keeps the ``m`` largest coefficients
of one sparse fit.  For each number of features ``m`` each method selects
on the full data once (timed), then we report the 5-fold cross-validated
:math:`R^2` of a linear regression on the selected features.  (Selecting
inside each training fold, with a pipeline, is the unbiased protocol; it
multiplies the forward search's cost by five and is left to the full run,
``SPARSECODE_FULL=1``.)  Data:

- scikit-learn's diabetes data (442 patients, 10 features);
- a synthetic regression with correlated features (``n = 200``,
  ``d = 20``, 5 active features; full run: ``n = 500``, ``d = 60``,
  10 active).
"""

# %%
# Set-up
# ------
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.feature_selection import SelectFromModel, SequentialFeatureSelector
from sklearn.linear_model import Lasso, LinearRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sparsecode import OMPSelector

FULL = os.environ.get("SPARSECODE_FULL") == "1"


def synthetic(seed=0):
    n, d, k = (500, 60, 10) if FULL else (200, 20, 5)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 0.7 * rng.standard_normal((n, 1))  # correlated columns
    w = np.zeros(d)
    w[rng.choice(d, k, replace=False)] = rng.uniform(0.5, 2.0, k) * rng.choice([-1, 1], k)
    return X, X @ w + rng.standard_normal(n)


def selectors(m):
    return {
        "OMPSelector": OMPSelector(n_features_to_select=m),
        "SequentialFeatureSelector": SequentialFeatureSelector(
            LinearRegression(), n_features_to_select=m, cv=5),
        "SelectFromModel(Lasso)": SelectFromModel(
            Lasso(alpha=0.01), max_features=m, threshold=-np.inf),
    }


def sweep(X, y, grid):
    X = StandardScaler().fit_transform(X)  # Lasso needs comparable scales
    cv = KFold(5, shuffle=True, random_state=0)
    scores = {name: [] for name in selectors(1)}
    seconds = {name: 0.0 for name in selectors(1)}
    for m in grid:
        for name, sel in selectors(m).items():
            t0 = time.perf_counter()
            sel.fit(X, y)
            seconds[name] += time.perf_counter() - t0
            if FULL:  # selection inside each training fold
                model, Xs = make_pipeline(sel, LinearRegression()), X
            else:  # selection on the full data (optimistic, the same for every method)
                model, Xs = LinearRegression(), sel.transform(X)
            scores[name].append(cross_val_score(model, Xs, y, cv=cv).mean())
    return scores, seconds


data = {"diabetes": load_diabetes(return_X_y=True), "synthetic": synthetic()}
grids = {"diabetes": list(range(1, 10)) if FULL else [1, 2, 3, 4, 6, 8],
         "synthetic": [1, 2, 4, 6, 8, 10, 15, 20] if FULL else [1, 2, 4, 6, 8]}

# %%
# Sweeps
# ------
results = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name, (X, y) in data.items():
        results[name] = sweep(X, y, grids[name])
        scores, seconds = results[name]
        print(f"{name}: selection time over the grid (s): "
              + ", ".join(f"{k} {v:.3f}" for k, v in seconds.items()))
        for k, v in scores.items():
            print(f"   {k:26s} CV R^2 " + " ".join(f"{s:.3f}" for s in v))

# %%
# Plot
# ----
fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
for ax, (name, (scores, seconds)) in zip(axes, results.items()):
    for method, values in scores.items():
        ax.plot(grids[name], values, "o-", label=f"{method} ({seconds[method]:.2f} s)")
    ax.set_title(name)
    ax.set_xlabel("number of selected features")
    ax.set_ylabel("5-fold CV $R^2$")
    ax.legend(fontsize=8, loc="lower right")
plt.show()

# %%
# OMP selects nearly the same features as the cross-validated forward
# search, at a small fraction of its cost (the legend gives the time of
# the selections over the whole grid); the Lasso ranking, one fit with a
# fixed ``alpha``, is as fast but can rank correlated features poorly.
