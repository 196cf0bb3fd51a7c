"""Patch helpers: extraction, exact reassembly, K-SVD weighted average, atom grid."""

import matplotlib
import numpy as np
import pytest
from sklearn.feature_extraction.image import reconstruct_from_patches_2d

from sparsecode import image_patches, overcomplete_dct, patches_to_image, plot_dictionary

matplotlib.use("Agg")


@pytest.mark.parametrize("ps", [(3, 3), (8, 7), (5, 2)])
def test_roundtrip_and_cover_counts(ps):
    img = np.random.default_rng(0).random((12, 10))
    P, m = image_patches(img, ps)
    np.testing.assert_allclose(P.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(patches_to_image(P, img.shape, patch_size=ps, means=m), img,
                               atol=1e-12)
    # constant patches of ones average to one everywhere (exact cover counts)
    ones = np.ones((P.shape[0], ps[0] * ps[1]))
    np.testing.assert_allclose(patches_to_image(ones, img.shape, patch_size=ps), 1.0)


def test_matches_scikit_learn_average_and_weighted_blend():
    img = np.random.default_rng(1).random((16, 16))
    Q = np.random.default_rng(2).random(((16 - 3) ** 2, 16))
    np.testing.assert_allclose(patches_to_image(Q, img.shape),
                               reconstruct_from_patches_2d(Q.reshape(-1, 4, 4), img.shape))
    # weight -> infinity returns the noisy image; pixel (0, 0) is covered once
    out = patches_to_image(Q, img.shape, noisy=img, weight=2.0)
    assert out[0, 0] == pytest.approx((2.0 * img[0, 0] + Q[0, 0]) / 3.0)
    np.testing.assert_allclose(patches_to_image(Q, img.shape, noisy=img, weight=1e12), img,
                               atol=1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match="2-D grey-level"):
        image_patches(np.zeros((4, 4, 3)), (2, 2))
    with pytest.raises(ValueError, match="larger than the image"):
        image_patches(np.zeros((4, 4)), (5, 2))
    with pytest.raises(ValueError, match="NaN"):
        image_patches(np.full((4, 4), np.nan), (2, 2))
    with pytest.raises(ValueError, match="all of them are needed"):
        patches_to_image(np.zeros((3, 4)), (4, 4))


def test_plot_dictionary_grid():
    ax = plot_dictionary(overcomplete_dct(64, 100), (8, 8), title="ODCT")
    assert ax.get_title() == "ODCT"
    grid = ax.images[0].get_array()
    assert grid.shape == (10 * 9 + 1, 10 * 9 + 1)
