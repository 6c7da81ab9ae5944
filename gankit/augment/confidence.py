"""The confidence filter: keep a generated sample of class K only if a classifier is sure it is a K.

The classifier is :mod:`gankit.augment.classifier`'s, trained on the *same imbalanced data* as the
GAN (never on more), so the filter adds no information the user does not have. A sample is kept
when ``p(K | x) >= threshold``; proposals are drawn in rounds until ``n`` are kept, each round
sized by the acceptance rate seen so far. The number of proposals is bounded
(:data:`MAX_OVERSAMPLING` per requested image, at least :data:`MIN_PROPOSALS`), so a classifier
that rejects nearly everything fails with the rate it measured instead of running for hours.

Kept samples are the passing proposals in proposal order: the result is a pure function of the
proposer, the classifier, the threshold and the seed. Round ``r`` draws with seed
:func:`round_seed` ``(seed, r)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from gankit.errors import ConfigError

#: At most this many proposals per requested image: an acceptance rate under 2 % is an error.
MAX_OVERSAMPLING = 50
MIN_PROPOSALS = 1000
#: Largest single round (bounds memory: 8192 Fashion-MNIST images are 6 MB).
CHUNK = 8192

Proposer = Callable[[int, int], torch.Tensor]  # (m, seed) -> uint8 m x C x H x W images of the class


@dataclass
class FilterResult:
    """``samples``: the ``n`` kept images; ``accepted`` counts every passing proposal (it may exceed ``n``)."""

    samples: torch.Tensor
    scores: torch.Tensor  # p(K) of each kept sample
    proposed: int
    accepted: int
    threshold: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else 0.0


def round_seed(seed: int, r: int) -> int:
    """The seed of proposal round ``r``: distinct per (seed, round), within what every generator accepts."""
    return int(np.random.SeedSequence([int(seed), int(r)]).generate_state(1)[0])


def class_probability(classifier: Any, x: torch.Tensor, klass: int) -> torch.Tensor:
    """p(klass | x) from ``classifier.predict_proba`` (or the classifier called), float N."""
    fn = getattr(classifier, "predict_proba", classifier)
    probs = torch.as_tensor(fn(x))
    if probs.dim() != 2 or len(probs) != len(x) or not 0 <= klass < probs.shape[1]:
        raise ConfigError(f"the classifier gave probabilities of shape {tuple(probs.shape)} for {len(x)} images of class {klass}.")
    return probs[:, klass].float()


def keep_mask(p: torch.Tensor, threshold: float) -> torch.Tensor:
    """Which samples pass: ``p >= threshold`` (ties kept)."""
    return p >= threshold


def max_proposals(n: int) -> int:
    return max(MIN_PROPOSALS, MAX_OVERSAMPLING * n)


def confidence_filter(
    propose: Proposer,
    classifier: Any,
    klass: int,
    n: int,
    threshold: float,
    seed: int = 0,
    limit: int | None = None,
) -> FilterResult:
    """``n`` proposals of class ``klass`` whose ``p(klass) >= threshold``, drawing at most ``limit`` proposals.

    ``limit`` defaults to :func:`max_proposals`; below it the acceptance rate is too low, and a
    :class:`~gankit.errors.ConfigError` says what was measured and what to change.
    """
    if n < 1:
        raise ConfigError(f"n: at least 1 sample, got {n}.")
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"confidence threshold: a probability in (0, 1], got {threshold}.")
    cap = max_proposals(n) if limit is None else int(limit)
    kept: list[torch.Tensor] = []
    scores: list[torch.Tensor] = []
    proposed = accepted = have = rounds = 0
    while have < n and proposed < cap:
        want = n - have
        m = want if proposed == 0 else math.ceil(1.1 * want * proposed / max(accepted, 1))
        m = max(1, min(max(m, 16), cap - proposed, CHUNK))
        x = propose(m, round_seed(seed, rounds))
        if len(x) != m:
            raise ConfigError(f"the proposer returned {len(x)} samples, {m} were asked for.")
        p = class_probability(classifier, x, klass)
        mask = keep_mask(p, threshold)
        idx = torch.nonzero(mask).flatten()
        accepted += len(idx)
        proposed += m
        rounds += 1
        take = idx[:want]
        kept.append(x[take])
        scores.append(p[take])
        have += len(take)
    if have < n:
        rate = accepted / proposed if proposed else 0.0
        need = f"about {math.ceil(n / rate):,} proposals" if rate > 0 else "more proposals than any bound"
        raise ConfigError(
            f"--filter confidence:{threshold:g}: only {accepted:,} of {proposed:,} proposals ({rate:.2%}) have "
            f"p(class {klass}) >= {threshold:g}; {n:,} samples would need {need}, over the limit of {cap:,} "
            f"({MAX_OVERSAMPLING} per requested sample). Lower the threshold, train the GAN longer (--minutes), "
            "or use --filter none."
        )
    details = {"rounds": rounds, "max_proposals": cap, "kept_mean_p": float(torch.cat(scores).mean())}
    return FilterResult(torch.cat(kept), torch.cat(scores), proposed, accepted, float(threshold), details)


__all__ = ["CHUNK", "MAX_OVERSAMPLING", "FilterResult", "class_probability", "confidence_filter", "keep_mask", "max_proposals",
           "round_seed"]  # fmt: skip
