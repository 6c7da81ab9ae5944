"""One torch thread for the tiny runs here: with 2 cores shared by other jobs, two threads per
tiny matmul oversubscribe the CPU and a 40-step run takes ~40 s instead of ~1 s."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
