"""The confidence filter keeps exactly the proposals a (hand-made) classifier scores at or above T."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.augment.command import FilterSpec, parse_filter
from gankit.augment.confidence import MAX_OVERSAMPLING, confidence_filter, round_seed
from gankit.errors import ConfigError

K = 2


def propose(m: int, seed: int) -> torch.Tensor:
    """m flat 4x4 images, each one gray level drawn from the seed."""
    g = torch.Generator().manual_seed(seed)
    levels = torch.randint(0, 256, (m,), generator=g).to(torch.uint8)
    return levels.view(m, 1, 1, 1).expand(m, 1, 4, 4).contiguous()


class Brightness:
    """p(K) = gray level / 256 (exact in float32), the rest spread over two other classes."""

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        p = x[:, 0, 0, 0].float() / 256.0
        rest = (1 - p) / 2
        return torch.stack([rest, rest, p], 1)


def expected(n: int, threshold: float, seed: int) -> tuple[torch.Tensor, int, int]:
    """Re-derive the filter by hand: the filter's rounds, every image scored, the first n passing kept."""
    kept, proposed, accepted, r = [], 0, 0, 0
    while len(kept) < n:
        # the sizes the filter uses: n first, then 1.1 x (still wanted) / (rate so far), at least 16
        want = n - len(kept)
        m = want if proposed == 0 else math.ceil(1.1 * want * proposed / max(accepted, 1))
        m = max(m, 16)
        x = propose(m, round_seed(seed, r))
        passing = [im for im in x if int(im[0, 0, 0]) / 256.0 >= threshold]
        accepted += len(passing)
        proposed += m
        kept += passing[:want]
        r += 1
    return torch.stack(kept), proposed, accepted


def test_keeps_exactly_the_samples_at_or_above_the_threshold():
    t = 192 / 256  # level 192 scores exactly T: ties are kept
    res = confidence_filter(propose, Brightness(), K, 40, t, seed=5)
    assert res.samples.shape == (40, 1, 4, 4)
    levels = res.samples[:, 0, 0, 0].long()
    assert (levels >= 192).all()
    assert torch.equal(res.scores, levels.float() / 256)
    want, proposed, accepted = expected(40, t, seed=5)
    assert torch.equal(res.samples, want) and res.proposed == proposed and res.accepted == accepted
    assert res.acceptance_rate == pytest.approx(accepted / proposed)
    assert 0.15 < res.acceptance_rate < 0.35  # 64 of 256 levels pass
    assert torch.equal(confidence_filter(propose, Brightness(), K, 40, t, seed=5).samples, res.samples)


def test_a_tie_is_kept_and_everything_below_is_dropped():
    x = torch.tensor([191, 192, 193, 10], dtype=torch.uint8).view(4, 1, 1, 1)
    res = confidence_filter(lambda m, s: x[:m] if m <= 4 else x.repeat(m // 4 + 1, 1, 1, 1)[:m], Brightness(), K, 2, 192 / 256)
    assert res.samples[:, 0, 0, 0].tolist() == [192, 193]


def test_too_low_a_rate_fails_with_the_measured_rate_within_the_bound():
    calls = []

    def counted(m, s):
        calls.append(m)
        return propose(m, s)

    with pytest.raises(ConfigError, match=r"only \d+ of 500 proposals .* Lower the threshold"):
        confidence_filter(counted, Brightness(), K, 10, 255 / 256, limit=500)  # 1 level in 256 passes
    assert sum(calls) == 500
    with pytest.raises(ConfigError, match="over the limit of 1,000"):
        confidence_filter(propose, Brightness(), K, 3, 1.0)  # nothing reaches p = 1
    assert MAX_OVERSAMPLING * 3 < 1000  # the floor of the bound applied


def test_round_seeds_differ_and_are_valid_seeds():
    seeds = {round_seed(s, r) for s in range(5) for r in range(50)}
    assert len(seeds) == 250 and all(0 <= s < 2**32 for s in seeds)


def test_filter_specs():
    assert parse_filter("none") == FilterSpec("none")
    assert parse_filter("confidence:0.9") == FilterSpec("confidence", threshold=0.9)
    assert parse_filter("confidence") == FilterSpec("confidence", threshold=0.9)
    assert parse_filter("drs") == FilterSpec("drs") and parse_filter("drs:-0.5") == FilterSpec("drs", gamma=-0.5)
    for bad, msg in (("confidence:1.5", "in \\(0, 1\\]"), ("confidence:0", "in \\(0, 1\\]"), ("confidence:x", "not a number"),
                     ("mh", "expected none"), ("drs:nan", "expected none"), ("none:3", "expected none")):
        with pytest.raises(ConfigError, match=msg):
            parse_filter(bad)
    with pytest.raises(ConfigError, match="at least 1"):
        confidence_filter(propose, Brightness(), K, 0, 0.5)
