"""The targets tally of the SBL benchmarks page (asv_bench/peers/bayes.py
``summary``, written above the table by asv_bench/compare_peers.py)."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "asv_bench"


@pytest.fixture(scope="module")
def bench():
    if not BENCH.is_dir():  # pragma: no cover - an installed copy without the repository
        pytest.skip("asv_bench/ is not beside the tests")
    sys.path.insert(0, str(BENCH))
    try:
        import compare_peers
        from peers import bayes
    finally:
        sys.path.remove(str(BENCH))
    return compare_peers, bayes


def _grid(problem, sbl, gg, known, ard, recovered=0, gap=None):
    return dict(problem=problem, method="GGAMPSBL() (time) / grid", peer="ARDRegression (time)",
                err_sbl=sbl, err_ggamp=gg, err_sbl_known=known, err_ard=ard, draws=16,
                recovered=recovered, ls_gap_recovered=gap)


def _cond(problem, sbl, gg):
    return dict(problem=problem, method="GGAMPSBL() (CPU time) / condition grid",
                peer="SBL() (CPU time)", err_sbl=sbl, err_ggamp=gg, draws=4)


def test_summary_counts_each_target_and_names_the_misses(bench):
    _, bayes = bench
    rows = [_grid("a", -10.0, -10.0, -11.0, -9.0, 2, 0.3),      # all met
            _grid("b", -9.4, -11.0, -11.0, -9.5, 1, 1.7),       # SBL: 1.6 dB behind, behind ARD
            _grid("c", -12.0, -12.0, -12.5, None, 0, None),     # no ARD: not compared
            _cond("k1", -40.0, -38.9), _cond("k2", -40.0, -39.5)]
    text = " ".join(" ".join(bayes.summary(rows)).split())
    assert ("``SBL()`` within 1.5 dB of SBL given the true noise variance in 2 of 3 cells "
            "(misses: b), not worse than ARD in 1 of 2 cells (misses: b)") in text
    assert ("``GGAMPSBL()`` within 1.5 dB of SBL given the true noise variance in 3 of 3 "
            "cells, not worse than ARD in 2 of 2 cells") in text
    assert "the 3 fits" in text and "at most 1.7 dB above least squares" in text
    assert "in 1 of 2 cells (misses: k1) (largest lag +1.10 dB)" in text
    assert "means over 16 draws" in text


def test_summary_is_empty_without_grid_rows(bench):
    _, bayes = bench
    assert bayes.summary([dict(problem="A 200x800", method="SBL()", peer="ARD")]) == []


def test_write_docs_places_the_summary_above_the_table(bench, tmp_path):
    compare_peers, _ = bench
    ctx = dict(machine="m", versions="v", blas="b", threads="t", load=None, date="d")
    rows = [_grid("a", -10.0, -10.0, -11.0, -9.0, 2, 0.3)]
    compare_peers.write_docs("bayes", rows, tmp_path, context=ctx)
    page = (tmp_path / "_generated" / "bayes.inc").read_text()
    assert page.index("Targets of the defaults") < page.index(".. csv-table::")
    compare_peers.write_docs("greedy", rows, tmp_path, context=ctx)  # no summary there
    assert "Targets of the defaults" not in (tmp_path / "_generated" / "greedy.inc").read_text()
