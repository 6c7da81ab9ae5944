"""Latent-space tools on a loaded generator (:func:`gankit.load`): interpolation, truncation, style mixing.

They work on any noise -> image generator where the operation means something, and say so
where it does not:

* interpolation: slerp between two seeds' z (any generator); lerp between their w (style-based);
* truncation: w_avg + psi (w - w_avg) in a style-based G (psi = 0 is the average image); for a
  G without a mapping network, z scaled by psi towards the mean of the prior (z = 0);
* style mixing: rows take their coarse/middle/fine (or listed) layers' styles from the columns'
  seeds -- needs a style-based G.

Every function returns uint8 images (N, C, H, W); :func:`write_frames` saves a grid or a GIF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from gankit.errors import ConfigError
from gankit.metrics.ppl import lerp, slerp
from gankit.utils.images import make_grid, save_png, to_uint8


def is_style_based(gen: Any) -> bool:
    return hasattr(gen.module, "mapping") and hasattr(gen.module, "synthesis")


def _need_style(gen: Any, what: str) -> None:
    if not is_style_based(gen):
        raise ConfigError(f"{what} needs a style-based generator (task stylegan2); {gen.path} has a "
                          f"{type(gen.module).__name__}. Interpolation in z and truncation work on it.")  # fmt: skip


def _labels(gen: Any, klass: int | None, n: int) -> torch.Tensor | None:
    k = gen.signature["num_classes"]
    if not k:
        if klass is not None:
            raise ConfigError(f"--class: {gen.path} is unconditional; it takes no class.")
        return None
    if klass is not None and not 0 <= klass < k:
        raise ConfigError(f"--class {klass}: this model has classes 0..{k - 1}.")
    return torch.full((n,), klass if klass is not None else 0, dtype=torch.long)


@torch.no_grad()
def _synth(gen: Any, ws: torch.Tensor) -> torch.Tensor:
    gen.module.eval()
    return to_uint8(gen.module.synthesis(ws).float())


@torch.no_grad()
def interpolate(gen: Any, seed_from: int, seed_to: int, steps: int, space: str = "z", klass: int | None = None) -> torch.Tensor:
    """``steps`` images from one seed to the other: slerp in z (keeps |z| where the prior puts it), lerp in w."""
    if steps < 2:
        raise ConfigError(f"--steps: at least 2 (the two ends), got {steps}.")
    z0, z1 = gen.noise(1, seed=seed_from), gen.noise(1, seed=seed_to)
    t = torch.linspace(0, 1, steps)
    c = _labels(gen, klass, steps)
    if space == "w":
        _need_style(gen, "interpolation in w")
        m = gen.module.mapping
        w0, w1 = m(z0, c[:1] if c is not None else None), m(z1, c[:1] if c is not None else None)
        ws = lerp(w0.expand(steps, -1), w1.expand(steps, -1), t)
        return _synth(gen, ws[:, None].expand(-1, gen.module.num_ws, -1))
    if space != "z":
        raise ConfigError(f"--space: z or w, got {space!r}.")
    # slerp moves the direction; the length goes linearly from |z0| to |z1|, so both ends are the seeds' own z
    radius = lerp(z0.norm(dim=1), z1.norm(dim=1), t).reshape(-1, 1)
    z = slerp(z0.expand(steps, -1), z1.expand(steps, -1), t) * radius
    return to_uint8(gen.generate(z, c))


@torch.no_grad()
def truncation_grid(gen: Any, seeds: Sequence[int], psis: Sequence[float], klass: int | None = None) -> torch.Tensor:
    """One row per seed, one column per psi (row-major)."""
    z = torch.cat([gen.noise(1, seed=s) for s in seeds])
    out = []
    for s_i in range(len(seeds)):
        zs = z[s_i : s_i + 1].expand(len(psis), -1)
        c = _labels(gen, klass, len(psis))
        psi = torch.tensor(list(psis), dtype=zs.dtype)
        if is_style_based(gen):
            m = gen.module.mapping
            ws = m.w_avg.lerp(m(zs, c), psi[:, None])  # w_avg + psi (w - w_avg), one psi per column
            out.append(_synth(gen, ws[:, None].expand(-1, gen.module.num_ws, -1)))
        else:
            if getattr(gen.module, "normalizes_z", False):
                raise ConfigError(f"--psi: this {type(gen.module).__name__} pixel-normalises z, so z x psi is the same image in every "
                                  "column; sample with --truncation T (BigGAN's threshold on z) instead.")  # fmt: skip
            out.append(to_uint8(gen.generate(zs * psi[:, None], c)))
    return torch.cat(out)


def parse_layers(text: str, groups: dict[str, list[int]], num_ws: int) -> list[int]:
    """``coarse``, ``middle``, ``fine`` (or several, comma-separated), or index ranges like ``0-3,6``."""
    out: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part in groups:
            out += groups[part]
        elif "-" in part and all(x.strip().isdigit() for x in part.split("-", 1)):
            a, b = (int(x) for x in part.split("-", 1))
            out += list(range(a, b + 1))
        elif part.isdigit():
            out.append(int(part))
        else:
            raise ConfigError(f"--layers: coarse, middle, fine or indices like 0-3 (this G has ws 0..{num_ws - 1}), got {part!r}.")
    bad = [i for i in out if not 0 <= i < num_ws]
    if bad or not out:
        raise ConfigError(f"--layers: indices 0..{num_ws - 1}, got {sorted(set(out))}.")
    return sorted(set(out))


@torch.no_grad()
def style_mix(gen: Any, row_seeds: Sequence[int], col_seeds: Sequence[int], layers: str = "coarse",
              klass: int | None = None) -> torch.Tensor:  # fmt: skip
    """The StyleGAN figure as (1 + rows) x (1 + cols) cells: the top row the column sources, the left
    column the row sources, each inner cell the row's image with ``layers`` taken from the column."""
    _need_style(gen, "style mixing")
    g = gen.module
    idx = parse_layers(layers, g.layer_groups(), g.num_ws)
    def ws_of(seeds: Sequence[int]) -> torch.Tensor:  # noqa: E306
        z = torch.cat([gen.noise(1, seed=s) for s in seeds])
        return g.mapping(z, _labels(gen, klass, len(seeds)))[:, None].expand(-1, g.num_ws, -1)
    rows, cols = ws_of(row_seeds), ws_of(col_seeds)
    blank = torch.zeros(1, *gen.signature["output_shape"], dtype=torch.uint8)
    cells = [blank, _synth(gen, cols)]
    for r in range(len(row_seeds)):
        mixed = rows[r : r + 1].repeat(len(col_seeds), 1, 1)
        mixed[:, idx] = cols[:, idx]
        cells += [_synth(gen, rows[r : r + 1]), _synth(gen, mixed)]
    return torch.cat(cells)


def write_frames(images: torch.Tensor, out: str | Path, nrow: int | None = None, fps: int = 12) -> Path:
    """``.png``: a grid (``nrow`` per row); ``.gif``: an animation, one image per frame, looping."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".gif":
        from PIL import Image

        from gankit.utils.io import atomic_write

        frames = [Image.fromarray(_hwc(im)) for im in images]
        atomic_write(out, lambda tmp: frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                                                     duration=int(1000 / fps), loop=0))  # fmt: skip
        return out
    return save_png(make_grid(images, nrow=nrow), out)


def _hwc(im: torch.Tensor) -> np.ndarray:
    a = im.numpy()
    return a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))


__all__ = ["interpolate", "is_style_based", "parse_layers", "style_mix", "truncation_grid", "write_frames"]
