"""Model outputs -> response bytes: PNG grids, single PNGs, animated GIFs and .npy files.

The float -> uint8 step is :func:`gankit.utils.images.to_uint8`, the one `gankit sample` uses, so a
served image is the sampled image, pixel for pixel.
"""

from __future__ import annotations

import io

import numpy as np


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float32 images in [-1, 1] -> uint8 (round to nearest, clamp), exactly as `gankit sample`."""
    import torch

    from gankit.utils.images import to_uint8 as convert

    return convert(torch.from_numpy(np.ascontiguousarray(images))).numpy()


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _hwc(im: np.ndarray) -> np.ndarray:
    return im[0] if im.shape[0] == 1 else np.ascontiguousarray(np.transpose(im, (1, 2, 0)))


def png_grid(images: np.ndarray, nrow: int | None = None) -> bytes:
    """uint8 N x C x H x W -> a PNG grid (``nrow`` per row; default about square), as `gankit sample` draws it."""
    import torch

    from gankit.utils.images import make_grid

    return _png(np.ascontiguousarray(make_grid(torch.from_numpy(images), nrow=nrow)))


def png_image(image: np.ndarray) -> bytes:
    """One uint8 C x H x W image -> a PNG of exactly its pixels (no border)."""
    return _png(_hwc(image))


def gif(images: np.ndarray, fps: int = 12) -> bytes:
    """uint8 N x C x H x W -> an animated GIF, one image per frame, looping."""
    from PIL import Image

    frames = [Image.fromarray(_hwc(im)) for im in images]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return buf.getvalue()


def npy(arr: np.ndarray) -> bytes:
    """The bytes of a .npy file (``np.load(io.BytesIO(body))`` reads it back)."""
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def scatter_png(points: np.ndarray) -> bytes:
    """2D points (a vector model's samples) -> a scatter plot PNG."""
    import tempfile
    from pathlib import Path

    from gankit.utils.images import save_scatter

    with tempfile.TemporaryDirectory(prefix="gankit-serve-") as tmp:
        path = Path(tmp) / "scatter.png"
        save_scatter(points, path)
        return path.read_bytes()
