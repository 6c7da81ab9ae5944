"""``gankit translate RUN --input FILE|DIR|X.npy --out DIR|Y.npy [--direction AtoB|BtoA] [--grid G.png]``.

``.npy`` in and out is uint8 N x C x H x W. A folder in gives a folder out with the same relative
file names; one image file in gives ``DIR/<its name>``. Images are read at the model's input
channels and resized (shorter side, then a centre crop) to its training size; ``--grid`` writes
rows of input | output | reconstruction (CycleGAN: translated back by the other generator) or
input | output (Pix2Pix).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from gankit.errors import ConfigError, DataError

MAX_GRID_ROWS = 16


def _read_npy(path: Path, channels: int) -> torch.Tensor:
    """A uint8 N x C x H x W array, checked."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise DataError(f"{path}: not a readable .npy array ({e}).") from None
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1] != channels:
        raise DataError(f"{path}: expected uint8 N x {channels} x H x W (this model reads {channels}-channel images), "
                        f"got {arr.dtype} {arr.shape}.")  # fmt: skip
    return torch.from_numpy(arr.copy())


def _read_inputs(path: Path, channels: int, size: int) -> tuple[torch.Tensor, list[Path] | None]:
    """uint8 N x C x H x W and, for image files, their paths relative to the input (None for .npy)."""
    from gankit.data.folder import list_images, load_image_uint8

    if path.suffix.lower() == ".npy":
        return _read_npy(path, channels), None
    files = list_images(path) if path.is_dir() else [path]
    images = []
    for f in files:
        try:
            images.append(load_image_uint8(f, size, channels))
        except (OSError, ValueError) as e:
            raise DataError(f"{f}: cannot read this image ({e}).") from None
    rel = [f.relative_to(path) for f in files] if path.is_dir() else [Path(path.name)]
    return torch.stack(images), rel


def _write_outputs(out: Path, outputs: torch.Tensor, names: list[Path] | None) -> None:
    from gankit.inference import _save_npy
    from gankit.utils.images import save_png

    if out.suffix.lower() == ".npy":
        _save_npy(out, outputs.numpy())
        return
    assert names is not None
    for name, im in zip(names, outputs):
        a = im.numpy()
        target = out / name.with_suffix(".png") if name.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp") else out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        arr = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
        if target.suffix.lower() == ".png":
            save_png(arr, target)
        else:
            from PIL import Image

            from gankit.utils.io import atomic_write

            atomic_write(target, lambda tmp, arr=arr, fmt=target.suffix.lstrip(".").upper().replace("JPG", "JPEG"): Image.fromarray(arr).save(tmp, format=fmt))


def cmd_translate(args: argparse.Namespace) -> int:
    from gankit.inference import load

    gen = load(args.run, direction=args.direction)
    if not gen.is_translator:
        raise ConfigError(f"{gen.path}: a {gen.signature['task']} run generates from noise; use `gankit sample`, not translate.")
    src, out = Path(args.input), Path(args.out)
    npy_in, npy_out = src.suffix.lower() == ".npy", out.suffix.lower() == ".npy"
    if npy_in != npy_out:
        raise ConfigError(f"--input {src} and --out {out}: .npy in gives .npy out, and images (a file or folder) give a folder.")
    c, h, _ = gen.signature["input_shape"]
    x, names = _read_inputs(src, c, h)
    if args.target_class is not None and gen.signature["task"] != "stargan":
        raise ConfigError(f"--target-class: a {gen.signature['task']} run has no domains to choose; StarGAN runs do.")
    if gen.signature["task"] == "stargan" and args.target_class is None:
        names_k = ", ".join(f"{i} {n}" for i, n in enumerate(gen.class_names or [])) or f"0..{gen.signature['num_classes'] - 1}"
        raise ConfigError(f"{gen.path}: a StarGAN run translates into a chosen domain: add --target-class K ({names_k}).")
    if gen.signature["task"] in ("inpaint", "srgan"):
        raise ConfigError(f"{gen.path}: use `gankit {'inpaint' if gen.signature['task'] == 'inpaint' else 'upscale'}` for a "
                          f"{gen.signature['task']} run.")  # fmt: skip
    outputs = gen.translate(x, device=args.device, target_class=args.target_class)
    _write_outputs(out, outputs, names)
    into = f" into domain {args.target_class}" + (f" ({gen.class_names[args.target_class]})" if gen.class_names else "") if args.target_class is not None else ""
    print(f"translated {len(x)} image(s){into} with {gen.path} ({gen.weights}, step {gen.step}) into {out}")
    if args.grid:
        _write_grid(args, gen, x, outputs)
    return 0


def _write_grid(args: argparse.Namespace, gen, x: torch.Tensor, outputs: torch.Tensor) -> None:  # noqa: ANN001
    from gankit.inference import load
    from gankit.utils.images import save_grid

    rows, cols = min(len(x), MAX_GRID_ROWS), [x, outputs]
    if gen.signature["task"] == "cyclegan":
        back = load(args.run, direction="AtoB" if args.direction == "BtoA" else "BtoA")
        cols.append(back.translate(outputs[:rows], device=args.device))
    elif gen.signature["task"] == "stargan":  # every domain, so the chosen one shows among the rest
        cols = [x] + [gen.translate(x[:rows], device=args.device, target_class=k) for k in range(gen.signature["num_classes"])]
    c = max(t.shape[1] for t in cols)
    cols = [t[:rows].expand(-1, c, -1, -1) if t.shape[1] != c else t[:rows] for t in cols]
    save_grid(torch.stack(cols, 1).flatten(0, 1), args.grid, nrow=len(cols))
    what = "every domain in turn" if gen.signature["task"] == "stargan" else "output" + (" | reconstruction" if len(cols) == 3 else "")
    print(f"grid (input | {what}) in {args.grid}")


def add_parser(sub, a, existing_run) -> None:  # noqa: ANN001
    p = sub.add_parser("translate", help="image-to-image runs: translate an image, a folder or a .npy")
    p.add_argument("run", type=existing_run, help="run folder or checkpoint folder of a pix2pix/cyclegan/stargan run")
    p.add_argument("--input", required=True, type=a.existing_path("an image, a folder of images or a .npy"))
    p.add_argument("--out", required=True, type=lambda t: a.out_file((".npy",))(t) if t.lower().endswith(".npy") else a.out_dir(t),
                   help="folder (for image inputs) or .npy (for a .npy input)")
    p.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB", help="CycleGAN runs translate both ways")
    p.add_argument("--target-class", type=a.integer(0, 100_000, "a class index"), default=None,
                   help="StarGAN runs: the domain (class index) to translate into")
    p.add_argument("--grid", type=a.out_file((".png",)), help="also write rows of input | output | reconstruction")
    p.add_argument("--device", type=a.device, default="cpu")
    p.set_defaults(func=cmd_translate)
