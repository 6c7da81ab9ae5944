"""The contracts: Batch moves and splits every field alike; Clock places schedule points in the budget."""

from __future__ import annotations

import pytest
import torch

from gankit.core import Batch, Clock, parse_point
from gankit.errors import ConfigError, DataError


def test_batch_split_and_to_keep_fields_together():
    b = Batch(x=torch.arange(10.0).view(5, 2), c=torch.arange(5))
    parts = b.split(2)
    assert [len(p) for p in parts] == [2, 2, 1]
    assert all(torch.equal(p.x[:, 0] / 2, p.c.float()) for p in parts) and parts[0].a is None
    moved = b.to("cpu")
    assert torch.equal(moved.x, b.x) and torch.equal(moved.c, b.c) and len(Batch()) == 0
    with pytest.raises(DataError, match="needs batch field"):
        b.require("a", "b", task="cyclegan")


def test_parse_point_steps_and_fractions():
    assert parse_point(100, "p") == 100 and isinstance(parse_point(100, "p"), int)
    assert parse_point(0.25, "p") == 0.25 and parse_point("50%", "p") == 0.5 and parse_point(None, "p") is None
    for bad in (-1, 1.5, "soon", True):
        with pytest.raises(ConfigError):
            parse_point(bad, "p")


def test_clock_ramp_in_steps_and_in_fractions():
    c = Clock(step=30, progress=0.3, max_steps=100)
    assert c.ramp(20, 40) == pytest.approx(0.5)  # steps: exact
    assert c.ramp(0.2, 0.4) == pytest.approx(0.5)  # fractions of the budget
    assert c.ramp(None, None) == pytest.approx(0.3) and c.ramp(40, 60) == 0.0 and c.ramp(None, 10) == 1.0
    timed = Clock(step=50, progress=0.25, max_steps=None)  # minutes budget: 50 steps used a quarter of it
    assert timed.fraction(100, 1.0) == pytest.approx(0.5)  # a step placed by the rate so far
    assert timed.reached(50) and not timed.reached(0.3) and timed.ramp(0.0, 0.5) == pytest.approx(0.5)
