"""The threshold rule: rates it promises hold, a trained model reports them truthfully, overrides act as documented."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from gradad import thresholds
from gradad.cli import app
from gradad.data import read_image
from gradad.modelfile import MODEL_JSON
from gradad.pipeline import GRAD


def test_order_statistic_rule():
    scores = np.arange(1.0, 20.0)[::-1]  # n = 19, unsorted on purpose
    value, basis = thresholds.threshold_for_rate(scores, 0.1)  # k = ceil(20 * 0.9) = 18
    assert (value, basis) == (18.0, "order_statistic")
    rates = thresholds.rates_at(scores, value)
    assert rates == {"val_count": 19, "val_false_alarm_rate": 1 / 19, "false_alarm_rate_bound": 2 / 20}


@pytest.mark.parametrize("n,rate", [(4, 0.5), (19, 0.05), (20, 0.2), (49, 0.1), (200, 0.01)])
def test_conformal_rate_holds_on_new_normals(n, rate):
    """Averaged over validation draws, new normals exceed the threshold at the bound's rate, never above `rate`."""
    rng = np.random.default_rng(n)
    exceed = []
    for _ in range(2000):
        value, basis = thresholds.threshold_for_rate(rng.gumbel(size=n), rate)
        exceed.append(-math.expm1(-math.exp(-value)))  # P(Gumbel > value), exactly
    k = math.ceil((n + 1) * (1 - rate) - 1e-9)
    assert basis == "order_statistic"
    assert np.mean(exceed) == pytest.approx((n + 1 - k) / (n + 1), abs=0.01)
    assert np.mean(exceed) <= rate + 0.01


def test_rate_below_resolution_extrapolates_above_the_maximum():
    scores = np.random.default_rng(0).gumbel(size=20)
    value, basis = thresholds.threshold_for_rate(scores, 0.01)  # 1/(n+1) = 0.048 > 0.01
    assert basis == "tail_fit" and value >= scores.max()
    record = thresholds.calibration(scores, 0.01)
    assert record["val_false_alarm_rate"] == 0.0
    assert record["false_alarm_rate_bound"] == record["min_resolvable_false_alarm_rate"] == 1 / 21
    assert thresholds.threshold_for_rate([0.3] * 5, 0.01) == (0.3, "maximum")


def test_threshold_falls_as_the_rate_rises():
    scores = np.random.default_rng(1).normal(size=30)
    values = [thresholds.threshold_for_rate(scores, r)[0] for r in np.linspace(0.001, 0.9, 60)]
    assert all(a >= b for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_rate_out_of_range(rate):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        thresholds.threshold_for_rate([1.0, 2.0], rate)


def test_normalize_puts_median_at_0_threshold_at_half_unclipped():
    n = lambda s: thresholds.normalize(s, 1.0, 3.0)  # noqa: E731
    assert (n(1.0), n(3.0), n(5.0), n(-1.0)) == (0.0, 0.5, 1.0, -0.5)
    assert n(100.0) > n(50.0) > 1.0
    below = thresholds.normalize(np.array([0.0, 0.5, 2.0]), 1.0, 0.5, spread=2.0)  # threshold under the median
    assert below.tolist() == [0.375, 0.5, 0.875]


def test_choose_overrides():
    record = thresholds.calibration(np.arange(10.0), 0.5)  # k = ceil(11 * 0.5) = 6 -> 5.0
    model = thresholds.choose(record, record["threshold"])
    assert (model.value, model.source, model.rates["val_false_alarm_rate"]) == (5.0, "model", 0.4)
    by_rate = thresholds.choose(record, record["threshold"], max_false_alarm_rate=0.2)  # k = 9 -> 8.0
    assert (by_rate.value, by_rate.source, by_rate.rates["val_false_alarm_rate"]) == (8.0, "--max-false-alarm-rate",
                                                                                      0.1)
    by_hand = thresholds.choose(record, record["threshold"], threshold=2.5)
    assert by_hand.rates["val_false_alarm_rate"] == 0.7 and by_hand.rates["false_alarm_rate_bound"] == 8 / 11
    with pytest.raises(ValueError, match="not both"):
        thresholds.choose(record, 5.0, threshold=1.0, max_false_alarm_rate=0.1)
    with pytest.raises(ValueError, match="no validation scores"):
        thresholds.choose({"median": 0.0, "threshold": 1.0}, 1.0, max_false_alarm_rate=0.1)


# ---- a trained model ------------------------------------------------------------------------------------------

def test_model_stores_the_rule_and_its_rates(tiny_run):
    meta = json.loads((tiny_run.run / "model" / MODEL_JSON).read_text())
    norm = meta["normalization"]
    n = len(tiny_run.data.val)
    assert meta["threshold"] == norm["threshold"] and len(norm["val_scores"]) == norm["val_count"] == n
    assert norm["target_false_alarm_rate"] == 0.01 and norm["basis"] == "tail_fit"  # 0.01 < 1/(n+1)
    assert norm["false_alarm_rate_bound"] == norm["min_resolvable_false_alarm_rate"] == 1 / (n + 1)
    assert norm["rule"] == thresholds.RULE


def test_validation_false_alarms_match_what_the_model_reports(tiny_run):
    model = GRAD.load(tiny_run.run / "model", device="cpu")
    val = [read_image(s.path) for s in tiny_run.data.val]
    for rate in (0.01, 0.3, 0.5, 0.9):
        choice = thresholds.choose(model.normalization, model.threshold, max_false_alarm_rate=rate)
        thresholds.apply(model, choice)
        preds = model.predict(val, batch_size=len(val))
        flagged = np.mean([p.is_anomalous for p in preds])
        assert flagged == choice.rates["val_false_alarm_rate"]
        assert all((p.normalized_score > 0.5) == p.is_anomalous for p in preds)


def _flagged(out) -> tuple[float, dict]:
    record = json.loads((out / "predictions.json").read_text())
    return np.mean([p["decision"] == "anomalous" for p in record["predictions"]]), record["threshold"]


def test_cli_overrides_change_decisions_as_reported(tiny_run, tmp_path):
    val = [str(s.path) for s in tiny_run.data.val]  # n = 4: rate 0.5 -> k = 3 -> one image above the threshold
    base = ["predict", "--model", str(tiny_run.run), "--batch-size", str(len(val)), *val]
    runs = {"model": [], "rate": ["--max-false-alarm-rate", "0.5"], "low": ["--threshold", "-1e9"],
            "high": ["--threshold", "1e9"]}
    seen = {}
    for name, extra in runs.items():
        result = CliRunner().invoke(app, [*base, "--out", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
        seen[name] = _flagged(tmp_path / name)
    assert seen["model"][0] == seen["model"][1]["val_false_alarm_rate"] == 0.0
    assert seen["model"][1]["source"] == "model"
    assert seen["rate"][0] == seen["rate"][1]["val_false_alarm_rate"] == 0.25
    assert seen["rate"][1]["false_alarm_rate_bound"] == 2 / 5 and seen["rate"][1]["source"] == "--max-false-alarm-rate"
    assert seen["low"][0] == 1.0 and seen["high"][0] == 0.0
    assert "false alarms 25.0% on the 4 validation normals, at most 40.0% expected" in CliRunner().invoke(
        app, [*base, "--out", str(tmp_path / "again"), "--max-false-alarm-rate", "0.5"]).stdout
