"""``gankit upscale`` and ``gankit inpaint``: apply a super-resolution or inpainting run to images.

    gankit upscale RUN --input FILE|DIR|X.npy --out DIR|Y.npy [--grid G.png]
    gankit inpaint RUN --input IMG|DIR|X.npy --mask MASK.png|DIR|M.npy --out DIR|Y.npy [--grid G.png]

``.npy`` in and out is uint8 N x C x H x W; masks are N x 1 x H x W (or one 1 x 1 x H x W for all)
with 1 marking the hole (a mask image: any non-zero pixel is hole). A folder in gives a folder out
with the same file names (a mask folder holds one mask per image under the same relative name).
Images keep their own size -- the networks are convolutional -- and are read at the model's channels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from gankit.errors import ConfigError, DataError

MAX_GRID_ROWS = 16


def read_native(path: Path, channels: int) -> tuple[list[torch.Tensor], list[Path] | None]:
    """uint8 C x H x W images at their own size (or the rows of a .npy) and their relative names."""
    from PIL import Image

    from gankit.cli.translate import _read_npy
    from gankit.data.folder import MAX_PIXELS, _check_size, _to_8bit, list_images

    if path.suffix.lower() == ".npy":
        return list(_read_npy(path, channels)), None
    files = list_images(path) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no images (png, jpg, jpeg, webp, bmp) in this folder.")
    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                _check_size(im, MAX_PIXELS)
                img = _to_8bit(im).convert("L" if channels == 1 else "RGB")
        except (OSError, ValueError) as e:
            raise DataError(f"{f}: cannot read this image ({e}).") from None
        a = np.asarray(img)
        images.append(torch.from_numpy(a[None].copy() if a.ndim == 2 else a.transpose(2, 0, 1).copy()))
    return images, [f.relative_to(path) for f in files] if path.is_dir() else [Path(path.name)]


def _batches(images: list[torch.Tensor]) -> list[list[int]]:
    """Indices grouped by image size, so equal sizes run as one batch."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(tuple(im.shape), []).append(i)
    return list(groups.values())


def _check_io(src: Path, out: Path) -> None:
    if (src.suffix.lower() == ".npy") != (out.suffix.lower() == ".npy"):
        raise ConfigError(f"--input {src} and --out {out}: .npy in gives .npy out, and images (a file or folder) give a folder.")


def _write(out: Path, outputs: list[torch.Tensor], names: list[Path] | None) -> None:
    from gankit.cli.translate import _write_outputs

    if names is None:
        _write_outputs(out, torch.stack(outputs), None)
        return
    for name, im in zip(names, outputs):
        _write_outputs(out, im[None], [name])


def cmd_upscale(args: argparse.Namespace) -> int:
    from gankit.inference import load

    gen = load(args.run)
    if gen.scale is None:
        raise ConfigError(f"{gen.path}: a {gen.signature['task']} run does not upscale; give a super-resolution run (task srgan).")
    src, out = Path(args.input), Path(args.out)
    _check_io(src, out)
    images, names = read_native(src, gen.signature["input_shape"][0])
    outputs: list[torch.Tensor] = [torch.empty(0)] * len(images)
    for idx in _batches(images):
        up = gen.upscale(torch.stack([images[i] for i in idx]), device=args.device)
        for i, o in zip(idx, up):
            outputs[i] = o
    _write(out, outputs, names)
    print(f"upscaled {len(images)} image(s) x{gen.scale} with {gen.path} ({gen.weights}, step {gen.step}) into {out}")
    if args.grid:
        _grid(args.grid, images, outputs, scale=gen.scale)
    return 0


def _masks(path: Path, names: list[Path] | None, n: int) -> list[torch.Tensor]:
    """One 1 x H x W uint8 {0, 1} mask per image (a single mask file or 1 x 1 x H x W array serves all)."""
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise DataError(f"{path}: not a readable .npy array ({e}).") from None
        if arr.ndim != 4 or arr.shape[1] != 1 or len(arr) not in (1, n):
            raise DataError(f"{path}: masks are N x 1 x H x W with 1 marking the hole (N = {n} images, or 1 for all), got {arr.shape}.")
        if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating):
            m = torch.from_numpy((arr > 0).astype(np.uint8))
        else:
            raise DataError(f"{path}: masks must be numbers or booleans, got {arr.dtype}.")
        return list(m.expand(n, -1, -1, -1)) if len(m) == 1 else list(m)
    if path.is_dir():
        if names is None:
            raise ConfigError(f"--mask {path}: a mask folder goes with an image folder; a .npy input takes a .npy mask.")
        missing = [str(nm) for nm in names if not any((path / nm).with_suffix(s).is_file() for s in (nm.suffix, ".png"))]
        if missing:
            raise DataError(f"--mask {path}: no mask for {', '.join(missing[:5])} (masks share the images' relative names; .png allowed).")
        files = [(path / nm) if (path / nm).is_file() else (path / nm).with_suffix(".png") for nm in names]
        return [(read_native(f, 1)[0][0] > 0).to(torch.uint8) for f in files]
    mask = (read_native(path, 1)[0][0] > 0).to(torch.uint8)
    return [mask] * n


def cmd_inpaint(args: argparse.Namespace) -> int:
    from gankit.inference import load

    gen = load(args.run)
    if gen.signature["task"] != "inpaint":
        raise ConfigError(f"{gen.path}: a {gen.signature['task']} run does not inpaint; give an inpainting run (task inpaint).")
    src, out = Path(args.input), Path(args.out)
    _check_io(src, out)
    images, names = read_native(src, gen.signature["input_shape"][0])
    masks = _masks(Path(args.mask), names, len(images))
    for i, (im, m) in enumerate(zip(images, masks)):
        if m.shape[1:] != im.shape[1:]:
            where = names[i] if names else f"row {i}"
            raise DataError(f"--mask: the mask of {where} is {m.shape[1]} x {m.shape[2]}, its image {im.shape[1]} x {im.shape[2]}; they must match.")
    outputs: list[torch.Tensor] = [torch.empty(0)] * len(images)
    for idx in _batches(images):
        done = gen.inpaint(torch.stack([images[i] for i in idx]), torch.stack([masks[i] for i in idx]), device=args.device)
        for i, o in zip(idx, done):
            outputs[i] = o
    _write(out, outputs, names)
    holes = sum(float(m.float().mean()) for m in masks) / max(len(masks), 1)
    print(f"inpainted {len(images)} image(s) (mean hole {100 * holes:.1f}% of the pixels) with {gen.path} "
          f"({gen.weights}, step {gen.step}) into {out}")  # fmt: skip
    if args.grid:
        shown = [torch.where(m.bool(), torch.full_like(im, 128), im) for im, m in zip(images, masks)]
        _grid(args.grid, shown, outputs, originals=images)
    return 0


def _grid(path: Path, inputs: list[torch.Tensor], outputs: list[torch.Tensor], scale: int = 1,
          originals: list[torch.Tensor] | None = None) -> None:  # fmt: skip
    """Rows of input (enlarged to the output's size) | output (| original) for the first same-size images."""
    import torch.nn.functional as F

    from gankit.utils.images import save_grid

    first = [i for i in range(len(outputs)) if outputs[i].shape == outputs[0].shape][:MAX_GRID_ROWS]
    x = torch.stack([inputs[i] for i in first])
    if scale > 1:
        x = F.interpolate(x.float(), scale_factor=scale, mode="nearest").to(torch.uint8)
    cols = [x, torch.stack([outputs[i] for i in first])] + ([torch.stack([originals[i] for i in first])] if originals else [])
    save_grid(torch.stack(cols, 1).flatten(0, 1), path, nrow=len(cols))
    print(f"grid ({' | '.join(['input', 'output', 'original'][: len(cols)])}) in {path}")


def add_parsers(sub, a, existing_run) -> None:  # noqa: ANN001
    npy_or_dir = lambda t: a.out_file((".npy",))(t) if t.lower().endswith(".npy") else a.out_dir(t)  # noqa: E731
    p = sub.add_parser("upscale", help="super-resolution runs: upscale an image, a folder or a .npy")
    p.add_argument("run", type=existing_run, help="run folder or checkpoint folder of a srgan/srresnet/esrgan run")
    p.add_argument("--input", required=True, type=a.existing_path("an image, a folder of images or a .npy"))
    p.add_argument("--out", required=True, type=npy_or_dir, help="folder (for image inputs) or .npy (for a .npy input)")
    p.add_argument("--grid", type=a.out_file((".png",)), help="also write rows of input (enlarged) | output")
    p.add_argument("--device", type=a.device, default="cpu")
    p.set_defaults(func=cmd_upscale)
    p = sub.add_parser("inpaint", help="inpainting runs: fill the masked holes of an image, a folder or a .npy")
    p.add_argument("run", type=existing_run, help="run folder or checkpoint folder of an inpaint run")
    p.add_argument("--input", required=True, type=a.existing_path("an image, a folder of images or a .npy"))
    p.add_argument("--mask", required=True, type=a.existing_path("a mask image (non-zero = hole), a folder of them or an N x 1 x H x W .npy"))
    p.add_argument("--out", required=True, type=npy_or_dir, help="folder (for image inputs) or .npy (for a .npy input)")
    p.add_argument("--grid", type=a.out_file((".png",)), help="also write rows of masked input | output | original")
    p.add_argument("--device", type=a.device, default="cpu")
    p.set_defaults(func=cmd_inpaint)
