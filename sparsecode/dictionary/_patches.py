"""Image patches for dictionary learning: extraction, reassembly with the
K-SVD denoising average, and a picture of the atoms.

Extraction reuses scikit-learn's ``extract_patches_2d`` (same patch order);
the reassembly counts the patches covering each pixel exactly (also for
patches larger than half the image) and blends in the noisy image as in
Elad & Aharon (IEEE TIP 15(12), 2006).
"""

import numbers

import numpy as np
from sklearn.feature_extraction.image import extract_patches_2d

from .._validation import check_finite_scalar, check_matrix

__all__ = ["image_patches", "patches_to_image", "plot_dictionary"]


def _check_image(image, name="image"):
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"{name} must be a 2-D grey-level image; got shape {img.shape}.")
    return check_matrix(img, name, dtype=np.float64)


def _check_patch_size(patch_size, shape):
    if (not isinstance(patch_size, (tuple, list)) or len(patch_size) != 2
            or not all(isinstance(p, numbers.Integral) and p >= 1 for p in patch_size)):
        raise ValueError(f"patch_size must be a pair of positive ints; got {patch_size!r}.")
    if patch_size[0] > shape[0] or patch_size[1] > shape[1]:
        raise ValueError(f"patch_size {tuple(patch_size)} is larger than the image {shape}.")
    return tuple(int(p) for p in patch_size)


def image_patches(image, patch_size=(8, 8), *, max_patches=None, remove_mean=True,
                  random_state=None):
    """Overlapping patches of a grey-level image as rows, optionally without their mean.

    Parameters
    ----------
    image : array-like of shape (height, width)
        Grey-level image.
    patch_size : tuple of int, default=(8, 8)
        Patch height and width.
    max_patches : int or float, default=None
        All patches (stride 1) when None, else a random subset of that many
        (or that fraction), as in scikit-learn's ``extract_patches_2d``.
    remove_mean : bool, default=True
        Subtract each patch's mean (its DC), as K-SVD denoising does.
    random_state : int, RandomState instance or None, default=None
        Seeds the subset.

    Returns
    -------
    patches : ndarray of shape (n_patches, patch_height * patch_width)
        The patches, one per row.
    means : ndarray of shape (n_patches,)
        Their means (zeros when ``remove_mean=False``).

    See Also
    --------
    patches_to_image : the inverse, with overlap averaging.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import image_patches
    >>> P, m = image_patches(np.arange(100.0).reshape(10, 10), (4, 4))
    >>> P.shape, bool(np.allclose(P.mean(axis=1), 0))
    ((49, 16), True)
    """
    img = _check_image(image)
    ps = _check_patch_size(patch_size, img.shape)
    P = extract_patches_2d(img, ps, max_patches=max_patches, random_state=random_state)
    P = P.reshape(P.shape[0], -1)
    means = P.mean(axis=1) if remove_mean else np.zeros(P.shape[0])
    return P - means[:, None], means


def patches_to_image(patches, image_shape, *, patch_size=None, means=None, noisy=None,
                     weight=0.0):
    r"""Reassemble all overlapping patches (stride 1) into an image by averaging.

    Parameters
    ----------
    patches : array-like of shape (n_patches, patch_height * patch_width) or (n_patches, ph, pw)
        Every patch of the image in ``extract_patches_2d`` order.
    image_shape : tuple of int
        ``(height, width)``.
    patch_size : tuple of int, default=None
        Shape of the flat patches (square when None).
    means : array-like of shape (n_patches,), default=None
        Means to add back (from :func:`image_patches`).
    noisy : array-like of shape image_shape, default=None
        The noisy image, averaged in with weight ``weight``.
    weight : float, default=0.0
        :math:`\lambda` of the K-SVD denoising average (e.g. ``30 / sigma``).

    Returns
    -------
    image : ndarray of shape image_shape
        :math:`(\lambda Y + \sum_{ij} R_{ij}^T p_{ij}) / (\lambda + \sum_{ij}
        R_{ij}^T R_{ij} 1)`: each pixel is the weighted mean of the patch
        estimates that cover it and of its noisy value.

    See Also
    --------
    image_patches : the patches.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import image_patches, patches_to_image
    >>> img = np.random.default_rng(0).random((12, 10))
    >>> P, m = image_patches(img, (3, 3))
    >>> np.allclose(patches_to_image(P, img.shape, means=m), img)
    True
    """
    P = np.asarray(patches, dtype=np.float64)
    if P.ndim not in (2, 3) or P.shape[0] == 0:
        raise ValueError(
            f"patches must be (n_patches, ph * pw) or (n_patches, ph, pw); got shape {P.shape}."
        )
    if not np.all(np.isfinite(P)):
        raise ValueError("Input patches contains NaN or infinity.")
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2:
        raise ValueError(f"image_shape must be (height, width); got {image_shape!r}.")
    if means is not None:
        mu = np.asarray(means, dtype=np.float64)
        if mu.shape != (P.shape[0],):
            raise ValueError(
                f"means must have shape ({P.shape[0]},) (one per patch); got {mu.shape}."
            )
        if not np.all(np.isfinite(mu)):
            raise ValueError("Input means contains NaN or infinity.")
        P = P.reshape(P.shape[0], -1) + mu[:, None]
    if P.ndim == 2:
        if patch_size is None:
            side = int(round(np.sqrt(P.shape[1])))
            if side * side != P.shape[1]:
                raise ValueError("flat patches are not square; give patch_size.")
            patch_size = (side, side)
        if patch_size[0] * patch_size[1] != P.shape[1]:
            raise ValueError(f"patch_size {patch_size} does not match {P.shape[1]} features.")
        P = P.reshape(P.shape[0], *patch_size)
    ph, pw = P.shape[1:]
    n_expected = (shape[0] - ph + 1) * (shape[1] - pw + 1)
    if P.shape[0] != n_expected:
        raise ValueError(
            f"patches holds {P.shape[0]} patches; an image of shape {shape} has "
            f"{n_expected} patches of size {(ph, pw)} (all of them are needed)."
        )
    # sum of the patch estimates over each pixel, one shifted add per patch pixel
    h, w = shape
    nh, nw = h - ph + 1, w - pw + 1
    P = P.reshape(nh, nw, ph, pw)
    total = np.zeros(shape)
    for a in range(ph):
        for b in range(pw):
            total[a:a + nh, b:b + nw] += P[:, :, a, b]
    cover = _cover_count(shape, (ph, pw))
    weight = check_finite_scalar(weight, "weight", low=0.0)
    if noisy is None or weight == 0.0:
        return total / cover
    Y = _check_image(noisy, "noisy")
    if Y.shape != shape:
        raise ValueError(f"noisy must have shape {shape}; got {Y.shape}.")
    return (weight * Y + total) / (weight + cover)


def _cover_count(shape, ps):
    """Number of stride-1 patches covering each pixel."""
    h, w = shape
    ph, pw = ps
    rows = np.minimum(np.minimum(np.arange(h) + 1, ph), np.minimum(h - np.arange(h), h - ph + 1))
    cols = np.minimum(np.minimum(np.arange(w) + 1, pw), np.minimum(w - np.arange(w), w - pw + 1))
    return np.outer(rows, cols).astype(np.float64)


def plot_dictionary(components, patch_size=None, *, n_cols=None, ax=None, title=None):
    """Show dictionary atoms as a grid of small images.

    Parameters
    ----------
    components : array-like of shape (n_atoms, n_features)
        Atoms as rows (``components_``).
    patch_size : tuple of int, default=None
        Shape of one atom (square when None).
    n_cols : int, default=None
        Atoms per row of the grid (about ``sqrt(n_atoms)`` when None).
    ax : matplotlib Axes, default=None
        Where to draw (a new figure when None).
    title : str, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib Axes
        The axes with the grid (each atom scaled to its own range).

    See Also
    --------
    KSVD : learns such atoms from image patches.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sparsecode import overcomplete_dct, plot_dictionary
    >>> ax = plot_dictionary(overcomplete_dct(64, 256), (8, 8))
    """
    import matplotlib.pyplot as plt

    C = check_matrix(components, "components")
    K, n = C.shape
    if patch_size is None:
        s = int(round(np.sqrt(n)))
        if s * s != n:
            raise ValueError("atoms are not square; give patch_size.")
        patch_size = (s, s)
    ph, pw = patch_size
    if ph * pw != n:
        raise ValueError(f"patch_size {patch_size} does not match {n} features.")
    n_cols = n_cols or int(np.ceil(np.sqrt(K)))
    n_rows = int(np.ceil(K / n_cols))
    grid = np.full((n_rows * (ph + 1) + 1, n_cols * (pw + 1) + 1), np.nan)
    for k in range(K):
        a = C[k].reshape(ph, pw)
        lo, hi = a.min(), a.max()
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        r, c = divmod(k, n_cols)
        grid[1 + r * (ph + 1):1 + r * (ph + 1) + ph, 1 + c * (pw + 1):1 + c * (pw + 1) + pw] = a
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(grid, cmap="gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax
