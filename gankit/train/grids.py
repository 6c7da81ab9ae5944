"""The in-loop picture of a run: an image grid, or a scatter over the mixture's modes for 2D data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gankit.data import data_spec
from gankit.utils.images import label_rows, make_grid, render_scatter, save_png, save_scatter, to_uint8

#: Columns of a conditional grid: the same noise in each column, one row per class.
CLASS_GRID_COLUMNS = 8


def grid_inputs(fixed_z: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
    """(z, labels, images per row): class x sample for a conditional task, so class and style show apart."""
    if not num_classes:
        return fixed_z, None, None
    cols = min(CLASS_GRID_COLUMNS, len(fixed_z))
    z = fixed_z[:cols].repeat(num_classes, 1)
    c = torch.arange(num_classes, device=fixed_z.device).repeat_interleave(cols)
    return z, c, cols


def class_grid(images: torch.Tensor, labels: torch.Tensor, names: list[str] | None) -> "Any":
    """uint8 images sorted into one row per class (in label order), rows named by class."""
    order = torch.argsort(labels, stable=True)
    images, labels = images[order], labels[order]
    classes = labels.unique().tolist()
    counts = [int((labels == k).sum()) for k in classes]
    cols = max(counts)
    rows = []
    for k, n in zip(classes, counts):
        row = images[labels == k]
        if n < cols:  # blank cells keep rows aligned
            row = torch.cat([row, torch.full((cols - n, *row.shape[1:]), 255, dtype=row.dtype)])
        rows.append(row)
    grid = make_grid(torch.cat(rows), nrow=cols)
    text = [names[k] if names and k < len(names) else str(k) for k in classes]
    return label_rows(grid, text, images.shape[-2])


def write_grid(run: Any, logger: Any, samples: torch.Tensor, labels: torch.Tensor | None = None,
               names: list[str] | None = None, nrow: int | None = None) -> Path:  # fmt: skip
    """``samples/step-XXXXXX.png`` and the TensorBoard image of the same samples."""
    path = run.run_dir / "samples" / f"step-{run.step:06d}.png"
    if run.data_kind == "vector":
        mix = data_spec(run.cfg.data.name).mixture(run.cfg.data)
        means = mix[0] if mix is not None else None
        save_scatter(samples, path, means, title=f"{run.cfg.name} step {run.step}")
        logger.image("samples", render_scatter(samples, means), run.step)
    elif labels is not None:
        arr = class_grid(to_uint8(samples), labels.cpu(), names)
        save_png(arr, path)
        logger.image("samples", arr, run.step)
    else:
        arr = make_grid(to_uint8(samples), **({"nrow": nrow} if nrow else {}))
        save_png(arr, path)
        logger.image("samples", arr, run.step)
    return path


def write_run_grid(run: Any, logger: Any) -> Path:
    """The grid of this evaluation: fixed noise (class x sample when conditional), or, for an image-to-image
    task, its fixed held-out inputs as rows of input | output | target (or reconstruction)."""
    preview = getattr(run.task, "preview", None)
    if preview is not None:
        return write_grid(run, logger, preview(run.all_nets(), run.device), nrow=run.task.preview_width())
    z, c, _ = grid_inputs(run.fixed_z, run.signature["num_classes"])
    return write_grid(run, logger, run.generate(z, c), c, getattr(run.task, "class_names", None))
