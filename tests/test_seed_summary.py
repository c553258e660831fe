"""The seed summary: paired gains with a t interval, ratios and the fraction of the label gap closed,
checked against hand-computed values."""
import math

import pytest

from semipose.engine.seed_summary import format_seed_summary, paired_interval, summarise_seeds


def _rows(sup, single, upper, dual_a=None):
    rows = [{"run": "supervised", "main/AP": sup, "collapse": "ok", "command": "x"},
            {"run": "single", "main/AP": single, "collapse": "ok", "command": "x"},
            {"run": "all_labels", "main/AP": upper, "collapse": "ok", "command": "x"}]
    if dual_a is not None:
        rows.insert(2, {"run": "dual", "a/AP": dual_a, "b/AP": dual_a + 0.01, "collapse": "ok", "command": "x"})
    return rows


def test_paired_interval_matches_the_t_formula_by_hand():
    result = paired_interval([0.01, 0.02, 0.03])
    # mean 0.02, sample std 0.01, t(0.975, 2) = 4.302653 -> half width 4.302653 * 0.01 / sqrt(3)
    half = 4.302653 * 0.01 / math.sqrt(3)
    assert result["mean"] == pytest.approx(0.02)
    assert result["ci_low"] == pytest.approx(0.02 - half, abs=1e-6)
    assert result["ci_high"] == pytest.approx(0.02 + half, abs=1e-6)
    assert result["wins"] == 3


def test_one_seed_has_no_interval():
    assert math.isnan(paired_interval([0.5])["ci_low"])


def test_gap_fraction_and_ratio_per_seed():
    rows = {0: _rows(0.20, 0.25, 0.40, dual_a=0.30), 1: _rows(0.10, 0.12, 0.30, dual_a=0.20)}
    summary = summarise_seeds(rows, upper="all_labels")
    single = summary["runs"]["single"]["headline"]["main/AP"]
    # seed 0: gain 0.05 of a 0.20 gap = 0.25, ratio 1.25; seed 1: 0.02 of 0.20 = 0.10, ratio 1.2
    assert single["gap_fraction"]["mean"] == pytest.approx(0.175)
    assert single["ratio"]["mean"] == pytest.approx(1.225)
    assert single["gain"]["mean"] == pytest.approx(0.035)
    dual = summary["runs"]["dual"]["headline"]
    assert dual["a/AP"]["gap_fraction"]["mean"] == pytest.approx((0.5 + 0.5) / 2)
    assert dual["b/AP"]["gap_fraction"]["mean"] == pytest.approx((0.11 / 0.20 + 0.11 / 0.20) / 2)
    assert "headline" not in summary["runs"]["all_labels"]
    text = format_seed_summary(summary)
    assert "| single | 0.1850 +- 0.0919 | +0.0350" in text and "0.17 +- 0.11" in text
    assert "| dual (a) |" in text and "| dual (b) |" in text


def test_unknown_upper_label_is_refused():
    with pytest.raises(ValueError, match="not one of the runs"):
        summarise_seeds({0: _rows(0.2, 0.25, 0.4)}, upper="all")
