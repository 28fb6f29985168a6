"""The decision threshold, set from held-out normal validation scores only, and the score scale that puts it at 0.5.

The rule, for a target false-alarm rate `a` and n validation scores s(1) <= ... <= s(n):

* k = ceil((n + 1) * (1 - a)). When k <= n the threshold is s(k), the (1 - a)(1 + 1/n) empirical quantile. A new
  normal image (exchangeable with the validation images) scores above it with probability (n + 1 - k) / (n + 1),
  which is at most `a` whatever the score distribution (the split-conformal argument).
* When k > n, i.e. a < 1 / (n + 1), n images cannot resolve the rate. The threshold then extrapolates an
  exponential tail fitted above the validation median m (image scores are maxima of smoothed maps, and maxima have
  exponential, Gumbel-like upper tails): t = m + b * ln(p / a), with b the mean excess over m and p the fraction of
  scores above m, and never below s(n). That rate is a model estimate; the only guarantee left is 1 / (n + 1).

An image is anomalous when its score is strictly above the threshold. For any threshold t (also one typed by hand)
two rates are reported: on the validation images, #{s > t} / n (in-sample, so optimistic), and the distribution-free
bound (1 + #{s > t}) / (n + 1) for new normal images.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DEFAULT_FALSE_ALARM_RATE = 0.01
RULE = ("threshold = s(k) of the n sorted validation scores, k = ceil((n+1)(1-a)); "
        "for a < 1/(n+1): exponential tail above the median, never below the largest validation score")


def check_rate(rate: float) -> float:
    if not (isinstance(rate, (int, float)) and 0.0 < rate < 1.0):
        raise ValueError(f"false-alarm rate must lie strictly between 0 and 1, got {rate}")
    return float(rate)


def threshold_for_rate(val_scores, rate: float) -> tuple[float, str]:
    """(threshold, basis) for target false-alarm rate `rate`; basis is "order_statistic", "tail_fit" or "maximum"."""
    s = np.sort(np.asarray(val_scores, dtype=np.float64))
    if s.size == 0:
        raise ValueError("no validation scores to set a threshold from")
    n, rate = s.size, check_rate(rate)
    k = math.ceil((n + 1) * (1.0 - rate) - 1e-9)
    if k <= n:
        return float(s[k - 1]), "order_statistic"
    median = float(np.median(s))
    excess = s[s > median] - median
    if excess.size == 0:
        return float(s[-1]), "maximum"
    tail = median + float(excess.mean()) * math.log(excess.size / n / rate)
    return max(tail, float(s[-1])), "tail_fit"


def rates_at(val_scores, threshold: float) -> dict:
    """False-alarm rates a threshold implies: measured on the validation images, and bounded for new normals."""
    s = np.asarray(val_scores, dtype=np.float64)
    above = int((s > threshold).sum())
    return {"val_count": int(s.size), "val_false_alarm_rate": above / s.size if s.size else None,
            "false_alarm_rate_bound": (1 + above) / (s.size + 1)}


def calibration(val_scores, rate: float = DEFAULT_FALSE_ALARM_RATE) -> dict:
    """The model's `normalization` record: threshold, how it was chosen, the rates it implies, the scores behind it."""
    s = np.sort(np.asarray(val_scores, dtype=np.float64))
    threshold, basis = threshold_for_rate(s, rate)
    return {"threshold": threshold, "median": float(np.median(s)), "rule": RULE, "basis": basis,
            "target_false_alarm_rate": float(rate), "min_resolvable_false_alarm_rate": 1 / (s.size + 1),
            **rates_at(s, threshold), "val_scores": s.tolist(), "input_range": [-1.0, 1.0]}


def normalize(scores, median: float, threshold: float, spread: float = 1.0):
    """0.5 + 0.5 (score - t) / (t - m): the validation median m maps to 0, the threshold t to 0.5, and the map is
    linear and not clipped, so ranking and the decision (normalised > 0.5) survive. Works on arrays (anomaly maps).
    When t <= m (a hand-set threshold below the median) `spread` replaces t - m as the unit."""
    scale = threshold - median if threshold - median > 1e-12 else max(spread, 1e-12)
    out = 0.5 + 0.5 * (np.asarray(scores, dtype=np.float64) - threshold) / scale
    return float(out) if out.ndim == 0 else out.astype(np.float32)


def spread(normalization: dict) -> float:
    s = normalization.get("val_scores") or [0.0]
    return float(max(s) - min(s)) or 1.0


@dataclass
class ThresholdChoice:
    """The threshold in force for one run, where it came from, and the false-alarm rates it implies."""

    value: float
    source: str  # "model", "--threshold" or "--max-false-alarm-rate"
    median: float
    spread: float
    rates: dict = field(default_factory=dict)

    def normalize(self, scores):
        return normalize(scores, self.median, self.value, self.spread)

    def describe(self) -> str:
        r = self.rates
        text = {"model": "set at training", "--threshold": "--threshold",
                "--max-false-alarm-rate": f"--max-false-alarm-rate {r.get('target_false_alarm_rate')}"}[self.source]
        if r.get("val_count"):
            text += (f"; false alarms {r['val_false_alarm_rate']:.1%} on the {r['val_count']} validation normals, "
                     f"at most {r['false_alarm_rate_bound']:.1%} expected on new ones")
        if r.get("basis") == "tail_fit":
            text += (f"; the {r['target_false_alarm_rate']:.2%} target is below the {1 / (r['val_count'] + 1):.1%} "
                     f"that {r['val_count']} validation images resolve, so the threshold extrapolates a fitted tail")
        return text


def choose(normalization: dict, model_threshold: float | None, threshold: float | None = None,
           max_false_alarm_rate: float | None = None) -> ThresholdChoice:
    """The model's threshold, or an override: a raw threshold, or one recomputed for a rate from the stored scores."""
    if threshold is not None and max_false_alarm_rate is not None:
        raise ValueError("give either a threshold or a maximum false-alarm rate, not both")
    val = normalization.get("val_scores") or []
    median = float(normalization.get("median", np.median(val) if val else 0.0))
    keep = ("basis", "target_false_alarm_rate", "min_resolvable_false_alarm_rate")
    if max_false_alarm_rate is not None:
        if not val:
            raise ValueError("this model stores no validation scores, so a false-alarm rate cannot be turned into "
                             "a threshold; give a threshold instead")
        value, basis = threshold_for_rate(val, max_false_alarm_rate)
        rates = {"basis": basis, "target_false_alarm_rate": float(max_false_alarm_rate),
                 "min_resolvable_false_alarm_rate": 1 / (len(val) + 1)}
        source = "--max-false-alarm-rate"
    elif threshold is not None:
        if not math.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold}")
        value, rates, source = float(threshold), {}, "--threshold"
    else:
        if model_threshold is None:
            raise ValueError("the model has no threshold; calibrate it or give a threshold")
        value, source = float(model_threshold), "model"
        rates = {k: normalization[k] for k in keep if k in normalization}
    if val:
        rates.update(rates_at(val, value))
    return ThresholdChoice(value, source, median, spread(normalization), rates)


def apply(backend, choice: ThresholdChoice) -> None:
    """Put `choice` in force on a GRAD model or an OnnxBackend, so its records decide and normalise by it."""
    backend.threshold = choice.value
    backend.normalization = {**backend.normalization, "threshold": choice.value}
