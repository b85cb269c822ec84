"""Shared pieces of the agreement statistics: result values, percentile bootstrap, pair keys.

Intervals resample units (documents) with replacement through a weight matrix (resamples,
units), drawn from ``numpy.random.default_rng(seed)``; see :mod:`curation.quality.agreement`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from curation.metrics.alignment import rounded

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def pair_key(a: str, b: str) -> str:
    """Key of a pair of annotators in the ``to_dict`` outputs (JSON keys are strings)."""
    return f"{a} vs {b}"


# --------------------------------------------------------------------------- result objects


@dataclass(frozen=True, slots=True)
class Estimate:
    """A statistic on the full data and its bootstrap percentile interval (``None``: undefined)."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n_valid: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"value": rounded(self.value), "low": rounded(self.low), "high": rounded(self.high)}


@dataclass(frozen=True, slots=True)
class F1Count:
    """Matched spans and span counts of side A and side B (summed over pairs when pooled)."""

    matches: int
    spans_a: int
    spans_b: int

    @property
    def f1(self) -> float | None:
        """``2 matches / (spans_a + spans_b)``; ``None`` when neither side has a span."""
        total = self.spans_a + self.spans_b
        return 2 * self.matches / total if total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "f1": rounded(self.f1),
            "matches": self.matches,
            "spans_a": self.spans_a,
            "spans_b": self.spans_b,
        }


# --------------------------------------------------------------------------- bootstrap


def _check_bootstrap(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


def _bootstrap_dict(n_resamples: int, confidence: float, seed: int) -> dict[str, Any]:
    return {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}


def _weights(n_units: int, n_resamples: int, seed: int) -> FloatArray:
    """How many times each unit is drawn in each resample: shape (resamples, units)."""
    if n_units == 0:
        return np.zeros((n_resamples, 0))
    draws = np.random.default_rng(seed).integers(0, n_units, size=(n_resamples, n_units))
    offsets = np.arange(n_resamples)[:, None] * n_units
    counts = np.bincount((draws + offsets).ravel(), minlength=n_resamples * n_units)
    return counts.reshape(n_resamples, n_units).astype(np.float64)


def _estimate(point: float | None, samples: FloatArray, confidence: float) -> Estimate:
    """Percentile interval of the defined (non-NaN) samples around ``point``."""
    valid = samples[~np.isnan(samples)]
    if point is None or valid.size == 0:
        return Estimate(point, None, None, int(valid.size))
    alpha = 1 - confidence
    low, high = np.percentile(valid, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return Estimate(point, float(low), float(high), int(valid.size))


def _defined(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
