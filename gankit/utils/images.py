"""Tensor <-> image conversions, sample grids and 2D scatter plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gankit.utils.io import atomic_write


def to_uint8(x: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """Generator output in ``value_range`` -> uint8 in [0, 255] (round to nearest, clamp).

    The one conversion used for grids, ``.npy`` samples and evaluation, so they see the same pixels.
    """
    lo, hi = value_range
    return ((x.detach().float() - lo) * (255.0 / (hi - lo))).round_().clamp_(0, 255).to(torch.uint8)


def save_figure(fig: "object", path: str | Path) -> Path:
    """Save a matplotlib figure atomically as PNG and close it."""
    import matplotlib.pyplot as plt

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))  # type: ignore[attr-defined]
    finally:
        plt.close(fig)  # type: ignore[arg-type]


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """uint8 N x C x H x W -> one H' x W' (x 3) uint8 array, ``nrow`` images per row."""
    import torchvision.utils as vutils

    n = images.shape[0]
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    grid = vutils.make_grid(images.cpu(), nrow=nrow, padding=pad, pad_value=255)
    arr = grid.permute(1, 2, 0).numpy()
    return arr[..., 0] if images.shape[1] == 1 else arr


def label_rows(grid: np.ndarray, labels: list[str], cell: int, pad: int = 2) -> np.ndarray:
    """The grid with a left margin naming each row (class names beside a class x sample grid)."""
    from PIL import ImageDraw

    img = Image.fromarray(grid)
    width = 8 + 6 * max((len(t) for t in labels), default=0)
    out = Image.new(img.mode, (img.width + width, img.height), 255 if img.mode == "L" else (255, 255, 255))
    out.paste(img, (width, 0))
    draw = ImageDraw.Draw(out)
    for i, text in enumerate(labels):
        y = pad + i * (cell + pad) + max(0, cell // 2 - 6)
        draw.text((4, y), text, fill=0 if img.mode == "L" else (0, 0, 0))
    return np.asarray(out)


def save_png(arr: np.ndarray, path: str | Path) -> Path:
    img = Image.fromarray(arr)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def save_grid(images_uint8: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    return save_png(make_grid(images_uint8, nrow), path)


def save_scatter(points: torch.Tensor | np.ndarray, path: str | Path, means: torch.Tensor | None = None, title: str = "") -> Path:
    """2D samples (blue) over the true mixture means (red crosses)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else np.asarray(points)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, c="tab:blue", linewidths=0)
    if means is not None:
        m = means.cpu().numpy() if isinstance(means, torch.Tensor) else np.asarray(means)
        ax.scatter(m[:, 0], m[:, 1], s=40, c="tab:red", marker="x")
        span = float(np.abs(m).max()) * 1.5 + 0.1
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def render_scatter(points: torch.Tensor, means: torch.Tensor | None = None, title: str = "") -> np.ndarray:
    """The scatter plot as an RGB array (for TensorBoard)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = save_scatter(points, Path(d) / "s.png", means, title)
        return np.asarray(Image.open(p).convert("RGB"))
