"""Plot helpers: abundance maps and endmember spectra (matplotlib imported lazily)."""

import numpy as np

__all__ = ["plot_abundance_maps", "plot_endmembers"]


def plot_abundance_maps(abundances, image_shape=None, *, truth=None, names=None, cmap="viridis",
                        fig=None):
    """Show one abundance map per endmember (and the ground truth below it).

    Parameters
    ----------
    abundances : array-like of shape (n_pixels, K) or (rows, cols, K)
        Estimated abundances (row-major pixels).
    image_shape : tuple (rows, cols) or None, default=None
        Needed when ``abundances`` is a matrix.
    truth : array-like of the same shape, default=None
        Ground-truth abundances (a second row of maps).
    names : list of str, default=None
        Endmember names for the titles.
    cmap : str, default="viridis"
        Colour map (values shown on [0, 1]).
    fig : matplotlib Figure or None, default=None
        Figure to draw in (a new one by default).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.

    See Also
    --------
    plot_endmembers : endmember spectra.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sparsecode.unmixing import plot_abundance_maps
    >>> fig = plot_abundance_maps(np.random.default_rng(0).dirichlet([1, 1], size=(4, 5)))
    >>> len(fig.axes) >= 2
    True
    """
    import matplotlib.pyplot as plt

    A = _as_maps(abundances, image_shape, "abundances")
    T = None if truth is None else _as_maps(truth, A.shape[:2], "truth")
    K = A.shape[2]
    n_rows = 1 if T is None else 2
    if fig is None:
        fig = plt.figure(figsize=(2.6 * K + 0.8, 2.6 * n_rows))
    axes = fig.subplots(n_rows, K, squeeze=False)
    im = None
    for k in range(K):
        label = names[k] if names is not None else f"endmember {k}"
        im = axes[0, k].imshow(A[:, :, k], vmin=0, vmax=1, cmap=cmap)
        axes[0, k].set_title(f"{label} (estimate)", fontsize=9)
        if T is not None:
            axes[1, k].imshow(T[:, :, k], vmin=0, vmax=1, cmap=cmap)
            axes[1, k].set_title(f"{label} (truth)", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="abundance")
    return fig


def _as_maps(A, image_shape, name):
    A = np.asarray(A, dtype=float)
    if A.ndim == 3:
        return A
    if A.ndim != 2 or image_shape is None:
        raise ValueError(f"{name} must be (rows, cols, K), or (n_pixels, K) with image_shape.")
    rows, cols = image_shape
    return A.reshape(rows, cols, A.shape[1])


def plot_endmembers(endmembers, *, truth=None, wavelengths=None, names=None, ax=None):
    """Plot endmember spectra, optionally against the ground truth.

    The estimates are matched to the truth (Hungarian, spectral angle) and
    rescaled to the truth's norm, so only shapes are compared.

    Parameters
    ----------
    endmembers : array-like of shape (K, n_bands)
        Estimated endmembers.
    truth : array-like of shape (K, n_bands), default=None
        Ground-truth endmembers (dashed lines).
    wavelengths : array-like of shape (n_bands,), default=None
        x axis (band index by default).
    names : list of str, default=None
        Endmember names for the legend.
    ax : matplotlib Axes or None, default=None
        Axes to draw in.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes.

    See Also
    --------
    plot_abundance_maps : abundance maps.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sparsecode.unmixing import plot_endmembers
    >>> E = np.random.default_rng(0).uniform(size=(2, 10))
    >>> ax = plot_endmembers(E, truth=E)
    >>> ax.get_xlabel()
    'band'
    """
    import matplotlib.pyplot as plt

    from ..metrics._unmixing import match_components

    E = np.asarray(endmembers, dtype=float)
    x = np.arange(E.shape[1]) if wavelengths is None else np.asarray(wavelengths)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    if truth is not None:
        T = np.asarray(truth, dtype=float)
        perm = match_components(T, E)
        E = E[perm]
        scale = np.linalg.norm(T, axis=1) / np.maximum(np.linalg.norm(E, axis=1), 1e-300)
        E = E * scale[:, None]
    for k in range(E.shape[0]):
        label = names[k] if names is not None else f"endmember {k}"
        (line,) = ax.plot(x, E[k], label=f"{label} (estimate)")
        if truth is not None:
            ax.plot(x, T[k], "--", color=line.get_color(), label=f"{label} (truth)")
    ax.set_xlabel("band" if wavelengths is None else "wavelength")
    ax.set_ylabel("reflectance")
    ax.set_title("Endmember spectra")
    ax.legend(fontsize=7)
    return ax
