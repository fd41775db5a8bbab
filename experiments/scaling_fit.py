"""Power-law fits of loss against model size or compute, with their uncertainty (no torch).

Kaplan et al. (2020) and GPT-3 §3 (Figure 3.1) describe loss as a power law,

    L(N) = (N_c / N) ** alpha_N        L(C) = (C_c / C) ** alpha_C,   C = 6 N D,

which is a straight line in log-log space: log L = alpha log x_c - alpha log x. The fit is
ordinary least squares of log L on log x. Its standard errors come from the covariance
s^2 (X^T X)^-1 (s^2 = residual sum of squares / (n - 2)), so the noise assumed is
multiplicative (constant relative scatter of L). Intervals use Student's t with n - 2 degrees
of freedom: with the four or five points of a small scaling run they are honestly wide. The
log x_c error follows from the delta method (log x_c = -intercept / slope).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PowerLawFit:
    """L(x) = (x_c / x) ** alpha, fitted in log space (natural logs)."""

    alpha: float
    log_scale: float
    """ln x_c."""
    covariance: tuple[tuple[float, float], tuple[float, float]]
    """Covariance of (intercept, slope) of ln L = intercept + slope ln x (slope = -alpha)."""
    residual_sd: float
    """s: the scatter of ln L around the line (a relative error of L)."""
    n: int

    @property
    def scale(self) -> float:
        return _exp(self.log_scale)

    @property
    def dof(self) -> int:
        return self.n - 2

    @property
    def alpha_se(self) -> float:
        return math.sqrt(self.covariance[1][1])

    @property
    def log_scale_se(self) -> float:
        """Standard error of ln x_c by the delta method."""
        intercept, slope = self.alpha * self.log_scale, -self.alpha
        gradient = np.array([-1.0 / slope, intercept / slope**2])
        return float(math.sqrt(gradient @ np.array(self.covariance) @ gradient))

    def _t(self, level: float) -> float:
        return float(stats.t.ppf(0.5 + level / 2, self.dof))

    def alpha_interval(self, level: float = 0.95) -> tuple[float, float]:
        half = self._t(level) * self.alpha_se
        return self.alpha - half, self.alpha + half

    def scale_interval(self, level: float = 0.95) -> tuple[float, float]:
        half = self._t(level) * self.log_scale_se
        return _exp(self.log_scale - half), _exp(self.log_scale + half)

    def predict(self, x: float) -> float:
        return math.exp(self.alpha * (self.log_scale - math.log(x)))

    def prediction_interval(self, x: float, level: float = 0.95) -> tuple[float, float]:
        """Where a new measurement at `x` should fall: the line's uncertainty plus the scatter."""
        row = np.array([1.0, math.log(x)])
        variance = float(row @ np.array(self.covariance) @ row) + self.residual_sd**2
        half = self._t(level) * math.sqrt(variance)
        centre = math.log(self.predict(x))
        return math.exp(centre - half), math.exp(centre + half)

    def to_dict(self, level: float = 0.95) -> dict:
        return {"alpha": self.alpha, "alpha_se": self.alpha_se,
                "alpha_ci": list(self.alpha_interval(level)),
                "scale": self.scale, "log_scale_se": self.log_scale_se,
                "scale_ci": list(self.scale_interval(level)),
                "residual_sd": self.residual_sd, "n": self.n, "level": level}


def _exp(x: float) -> float:
    """exp that saturates: a nearly flat fit puts x_c (and its interval) beyond any float."""
    return math.exp(x) if x < 709 else math.inf


def fit_power_law(x: list[float], loss: list[float]) -> PowerLawFit:
    """Least squares of ln L on ln x; needs three or more points at two or more x values."""
    x_arr, loss_arr = np.asarray(x, dtype=float), np.asarray(loss, dtype=float)
    if x_arr.shape != loss_arr.shape or x_arr.ndim != 1:
        raise ValueError(f"x and loss must be equal-length lists, got {x_arr.shape} and "
                         f"{loss_arr.shape}")
    if len(x_arr) < 3:
        raise ValueError(f"a power-law fit with an error estimate needs at least 3 points, "
                         f"got {len(x_arr)}")
    if (x_arr <= 0).any() or (loss_arr <= 0).any() or not np.isfinite(loss_arr).all():
        raise ValueError("x and loss must be positive and finite for a fit in log space")
    if np.ptp(np.log(x_arr)) == 0:
        raise ValueError("all points have the same x: the slope is undetermined")
    design = np.column_stack([np.ones_like(x_arr), np.log(x_arr)])
    target = np.log(loss_arr)
    (intercept, slope), *_ = np.linalg.lstsq(design, target, rcond=None)
    residuals = target - design @ np.array([intercept, slope])
    variance = float(residuals @ residuals) / (len(x_arr) - 2)
    covariance = variance * np.linalg.inv(design.T @ design)
    alpha = -float(slope)
    if alpha == 0:
        raise ValueError("loss does not change with x: no scale x_c exists")
    return PowerLawFit(alpha=alpha, log_scale=float(intercept) / alpha,
                       covariance=tuple(map(tuple, covariance.tolist())),
                       residual_sd=math.sqrt(variance), n=len(x_arr))


def compute_frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (compute, loss) points no cheaper point beats: the lower envelope of the learning
    curves of all sizes, to which GPT-3's Figure 3.1 fits L(C)."""
    frontier: list[tuple[float, float]] = []
    for compute, loss in sorted(points):
        if not frontier or loss < frontier[-1][1]:
            frontier.append((compute, loss))
    return frontier
