import warnings

import numpy as np
import pytest

from sparsecode import CorrentropyNMF, NMFUnmixing
from sparsecode.cli import main
from sparsecode.datasets import load_hyperspectral, make_hyperspectral_mixture
from sparsecode.metrics import abundance_rmse, match_components, spectral_angle_distance
from sparsecode.unmixing import fcls, vca


def test_cli_unmix_cube(tmp_path, capsys):
    Y, _M, _A, _ = make_hyperspectral_mixture(3, 30, (10, 10), random_state=0)
    np.savez(tmp_path / "cube.npz", Y=Y.reshape(10, 10, 30))
    out, png = tmp_path / "res.npz", tmp_path / "maps.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["unmix", str(tmp_path / "cube.npz"), "--endmembers", "3", "--method", "cenmf",
                   "--max-iter", "30", "-o", str(out), "--plot", str(png)])
    assert rc == 0 and png.stat().st_size > 1000
    res = np.load(out)
    assert res["endmembers"].shape == (3, 30) and res["abundances"].shape == (10, 10, 3)
    assert res["band_weights"].shape == (30,)
    assert "unmix: done" in capsys.readouterr().err


def test_cli_vca_matrix_and_errors(tmp_path, capsys):
    Y, M, _A, _ = make_hyperspectral_mixture(3, 30, (6, 6), random_state=0)
    np.savez(tmp_path / "m.npz", X=Y)
    rc = main(["unmix", str(tmp_path / "m.npz"), "--key", "X", "-k", "3", "--method", "vca",
               "-q", "-o", str(tmp_path / "r.npz")])
    assert rc == 0
    E = np.load(tmp_path / "r.npz")["endmembers"]
    assert spectral_angle_distance(M, E[match_components(M, E)]).max() < 1e-6
    # no array of that name: one error line, exit status 2
    assert main(["unmix", str(tmp_path / "m.npz"), "--key", "Y", "-k", "3"]) == 2
    assert "no array 'Y'" in capsys.readouterr().err


def test_cli_shipped_layout_scores_ground_truth(real_data_dir, capsys):
    rc = main(["unmix", str(real_data_dir / "moffett.npz"), "-k", "3", "--method", "vca", "-q"])
    assert rc == 0
    assert "SAD per endmember" in capsys.readouterr().out


def test_samson_acceptance(real_data_dir):
    # spec A5.3: every method's SAD on Samson < 0.15 rad; NMF improves VCA+FCLS abundances
    d = load_hyperspectral("samson", data_home=real_data_dir)
    E0 = vca(d.Y, 3, random_state=0)
    A0 = fcls(d.Y, E0)
    p0 = match_components(d.endmembers, E0)
    sad0 = spectral_angle_distance(d.endmembers, E0[p0]).mean()
    rmse0 = abundance_rmse(d.abundances, A0[:, p0]).mean()
    assert sad0 < 0.15 and rmse0 < 0.35
    for est in (NMFUnmixing(3, max_iter=20, random_state=0),
                CorrentropyNMF(3, max_iter=20, random_state=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            A = est.fit_transform(d.cube).reshape(-1, 3)
        p = match_components(d.endmembers, est.components_)
        assert spectral_angle_distance(d.endmembers, est.components_[p]).mean() < 0.15
        assert abundance_rmse(d.abundances, A[:, p], normalize=True).mean() < rmse0


def test_samson_guidance_map_highlights_pure_pixels(real_data_dir):
    # spec A2.4 (2): the learned h is larger on pixels whose true max abundance
    # exceeds 0.9 than on pixels below 0.6 (mean difference > 0.2)
    from sparsecode import RobustGuidedNMF

    d = load_hyperspectral("samson", data_home=real_data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = RobustGuidedNMF(3, max_iter=20, random_state=0).fit(d.cube)
    h = est.guidance_map_.ravel()
    amax = d.abundances.max(axis=1)
    assert h[amax > 0.9].mean() - h[amax < 0.6].mean() > 0.2
