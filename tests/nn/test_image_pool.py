"""ImagePool: pass-through while filling, a 50/50 swap once full, an exact state round trip."""

import json

import torch
from safetensors.torch import load, save

from gankit.nn.image_pool import ImagePool
from gankit.train.checkpoint import join_tensors, split_tensors


def ids(start: int, n: int) -> torch.Tensor:
    """n images whose every pixel holds their id, so a returned image tells where it came from."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def test_returns_its_input_while_filling_then_swaps_half():
    pool = ImagePool(size=50, seed=3)
    for k in range(5):
        batch = ids(10 * k, 10)
        assert torch.equal(pool.query(batch), batch) and len(pool) == 10 * (k + 1)
    returned_old, seen_old = 0, set()
    for k in range(5, 405):  # 4000 images once full
        out = pool.query(ids(10 * k, 10))[:, 0, 0, 0].long().tolist()
        for i, v in enumerate(out):
            if v != 10 * k + i:
                assert v < 10 * k + i and v not in seen_old  # a stored image, each handed out once
                seen_old.add(v)
                returned_old += 1
    assert 0.45 <= returned_old / 4000 <= 0.55


def test_zero_size_passes_through_and_the_global_rng_is_untouched():
    x = torch.randn(3, 1, 2, 2, requires_grad=True)
    state = torch.get_rng_state()
    assert torch.equal(ImagePool(size=0).query(x), x)
    out = ImagePool(size=2).query(torch.cat([x, x]))
    assert not out.requires_grad
    assert torch.equal(torch.get_rng_state(), state)


def through_checkpoint(state: dict) -> dict:
    """What safetensors + JSON keep of a state (as train/checkpoint.py writes it)."""
    tensors: dict = {}
    meta = json.loads(json.dumps(split_tensors(state, "pool", tensors)))
    return join_tensors(meta, load(save(tensors)))


def test_state_round_trip_is_bit_identical():
    for warmup in (0, 3, 20):  # empty, filling, full
        a = ImagePool(size=8, seed=1)
        for k in range(warmup):
            a.query(torch.randn(2, 3, 4, 4))
        b = ImagePool(size=8, seed=99)
        b.load_state_dict(through_checkpoint(a.state_dict()))
        assert len(b) == len(a)
        gen = torch.Generator().manual_seed(5)
        for _ in range(10):
            x = torch.randn(3, 3, 4, 4, generator=gen)
            assert torch.equal(a.query(x), b.query(x))
        assert torch.equal(a.state_dict()["images"], b.state_dict()["images"])
