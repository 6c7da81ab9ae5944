"""Recalibrating D's logit on held-out real data against fresh samples, before D is read as a density ratio.

Both samplers read D's logit as log p_data(x) / p_g(x). That holds only for the optimal D of the
minimax loss on a balanced mix; a trained D is over- or under-confident, a hinge or WGAN critic is not
a logit at all, and D was trained against G while the samples may come from G's EMA copy. So both
papers calibrate D on data it has not trained on before reading it: DRS (Azadi et al. 2019) on
held-out real data against samples, with a logistic output (its SAGAN's D was trained with the hinge
loss); MH-GAN (Turner et al. 2019) fits a calibrator on a held-out set (logistic among its choices).
Here the calibrator is logistic (Platt scaling): D~(x) = a s(x) + b, with s D's raw
score, fitted by maximum likelihood to "real" (held-out real samples) against "generated" (new
samples of the proposal G), the two classes weighted equally. A D that is already calibrated gets
a = 1, b = 0; a well-specified score recovers the log ratio exactly (the tests check both).

The fit is Newton's method on the two parameters (the problem is convex), with a ridge of 1e-6 so
that perfectly separated scores give a large finite slope instead of diverging; ``separable`` says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

RIDGE = 1e-6


@dataclass(frozen=True)
class Calibration:
    """D~ = a * score + b, fitted on ``n_real`` real and ``n_fake`` generated held-out samples."""

    a: float = 1.0
    b: float = 0.0
    n_real: int = 0
    n_fake: int = 0
    log_loss_raw: float = float("nan")  # balanced log loss of sigmoid(score): D's own calibration
    log_loss: float = float("nan")  # the same after recalibration (never higher, up to the ridge)
    accuracy: float = float("nan")  # balanced accuracy of D~ > 0 on the calibration set
    separable: bool = False

    def __call__(self, scores: torch.Tensor) -> torch.Tensor:
        return self.a * scores.double() + self.b

    def as_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


def _balanced_log_loss(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> float:
    nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return float((w * nll).sum() / w.sum())


def fit_logistic(real: torch.Tensor, fake: torch.Tensor, iters: int = 100, tol: float = 1e-10) -> Calibration:
    """(a, b) maximising the class-balanced likelihood of real (label 1) vs fake (label 0) scores."""
    real, fake = real.double().reshape(-1), fake.double().reshape(-1)
    if len(real) == 0 or len(fake) == 0:
        raise ValueError("calibration needs at least one real and one generated score.")
    s = torch.cat([real, fake])
    y = torch.cat([torch.ones_like(real), torch.zeros_like(fake)])
    w = torch.cat([torch.full_like(real, 0.5 / len(real)), torch.full_like(fake, 0.5 / len(fake))])  # each class weighs 1/2
    mu, sd = float(s.mean()), float(s.std()) if len(s) > 1 else 1.0
    sd = sd if sd > 0 else 1.0
    X = torch.stack([(s - mu) / sd, torch.ones_like(s)], dim=1)  # standardised: Newton is well conditioned
    theta = torch.zeros(2, dtype=torch.float64)
    eye = torch.eye(2, dtype=torch.float64)

    def objective(t: torch.Tensor) -> float:
        return _balanced_log_loss(X @ t, y, w) + 0.5 * RIDGE * float(t @ t)

    for _ in range(iters):
        p = torch.sigmoid(X @ theta)
        grad = X.T @ (w * (p - y)) + RIDGE * theta
        hess = (X * (w * p * (1 - p))[:, None]).T @ X + RIDGE * eye
        step = torch.linalg.solve(hess, grad)
        f0, t = objective(theta), 1.0
        while t > 1e-8 and objective(theta - t * step) > f0 + 1e-15:  # backtracking keeps every step a descent
            t *= 0.5
        theta = theta - t * step
        if float(step.abs().max()) * t < tol:
            break
    a = float(theta[0]) / sd
    b = float(theta[1]) - a * mu
    logits = a * s + b
    pred = logits > 0
    acc = 0.5 * (float(pred[y == 1].double().mean()) + float((~pred[y == 0]).double().mean()))
    separable = bool(real.min() > fake.max() or fake.min() > real.max())
    return Calibration(a, b, len(real), len(fake), _balanced_log_loss(s, y, w), _balanced_log_loss(logits, y, w), acc, separable)
