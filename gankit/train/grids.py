"""The in-loop picture of a run: an image grid, or a scatter over the mixture's modes for 2D data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gankit.data import data_spec
from gankit.utils.images import make_grid, render_scatter, save_png, save_scatter, to_uint8


def write_grid(run: Any, logger: Any, samples: torch.Tensor) -> Path:
    """``samples/step-XXXXXX.png`` and the TensorBoard image of the same samples."""
    path = run.run_dir / "samples" / f"step-{run.step:06d}.png"
    if run.data_kind == "vector":
        mix = data_spec(run.cfg.data.name).mixture(run.cfg.data)
        means = mix[0] if mix is not None else None
        save_scatter(samples, path, means, title=f"{run.cfg.name} step {run.step}")
        logger.image("samples", render_scatter(samples, means), run.step)
    else:
        arr = make_grid(to_uint8(samples))
        save_png(arr, path)
        logger.image("samples", arr, run.step)
    return path
