"""``train.precision: auto``: bf16-mixed where the hardware computes bfloat16 natively, else float32.

Why: bf16-mixed trained the default recipe 1.4-1.6x faster than float32 on a CPU with AVX512-BF16
(benchmarks/throughput.py), so in a fixed time budget it buys more steps; on a CPU without native
bfloat16 the same autocast is emulated and slower, and on a GPU without bf16 (before Ampere)
float16 needs loss scaling that GAN losses do not always survive. A time-budgeted recipe meant
for every machine therefore asks for ``auto`` and each machine picks what is fast *there*.
"""

from __future__ import annotations

from typing import Callable

import torch

#: What ``auto`` can resolve to.
CHOICES = ("bf16-mixed", "32")


def _cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX tiles (torch's own CPU probes; private, so any failure reads as no)."""
    probes: list[Callable[[], bool]] = [getattr(torch.cpu, n) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
                                        if hasattr(torch.cpu, n)]  # fmt: skip
    for probe in probes:
        try:
            if probe():
                return True
        except Exception:  # noqa: BLE001 -- a probe that cannot run means the feature cannot be relied on
            continue
    return False


def _cuda_has_bf16() -> bool:
    try:
        return bool(torch.cuda.is_bf16_supported())
    except Exception:  # noqa: BLE001
        return False


def resolve_precision(requested: str, accelerator: str = "auto", cuda: bool | None = None,
                      cpu_bf16: bool | None = None, cuda_bf16: bool | None = None) -> str:  # fmt: skip
    """The Fabric precision to train with; anything but ``"auto"`` is returned unchanged.

    ``cuda``/``cpu_bf16``/``cuda_bf16`` override the hardware probes (tests; None: probe).
    """
    if requested != "auto":
        return requested
    on_cuda = accelerator != "cpu" and (torch.cuda.is_available() if cuda is None else cuda)
    if on_cuda:
        native = _cuda_has_bf16() if cuda_bf16 is None else cuda_bf16
    else:
        native = _cpu_has_native_bf16() if cpu_bf16 is None else cpu_bf16
    return "bf16-mixed" if native else "32"


__all__ = ["CHOICES", "resolve_precision"]
