"""RGB super-resolution on real photographs shipped inside scikit-image: ``data.name: skimage-photos``.

A sanity check for RGB models that needs no download: the five everyday colour photographs in the
``skimage.data`` folder -- ``astronaut.png`` (512 x 512), ``chelsea.png`` (451 x 300), ``coffee.png``
(600 x 400), ``motorcycle_left.png`` (741 x 500) and ``rocket.jpg`` (640 x 427) (width x height). Left
out: the synthetic and grey images, the scientific ones (microscopy, retina, Hubble), and
``motorcycle_right`` (the other half of a stereo pair: nearly the same picture as ``motorcycle_left``).

Items are ``data.image_size`` (``S``, 64 say) square tiles at the photos' own resolution; the inputs are
those tiles downsampled by ``data.scale`` (None: 4) with ``data.degradation`` (:mod:`gankit.data.degrade`).
Each photo is cut into rows of ``S``-high tiles from the top: its bottom ``k`` rows (``k`` = a fifth of
the rows, at least one) are ``test``, the ``k`` rows above them ``val``, the rest ``train``. Training
crops fall anywhere inside the training rows (random position and flip from the item's seed; the
``val`` rows join them unless checkpoint selection holds them out), so no training pixel is ever in a
test tile. Held-out items are the fixed tiles of their rows. At ``S`` = 64: 230 training items (177
with ``val`` held out), 53 ``val`` and 53 ``test`` tiles. scikit-image is optional:
``pip install scikit-image``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from gankit.data.base import SOURCES
from gankit.data.restore_builtin import SuperResolution
from gankit.data.sr_folder import CropItem, CropPairs
from gankit.data.translation import Pair, TranslationSource, load_stack
from gankit.errors import ConfigError, DataError

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")
#: Tile rows of each split at a photo's bottom: a fifth of the rows, at least one.
HELD_SHARE = 5


@functools.lru_cache(maxsize=1)
def load_photos() -> tuple[Image.Image, ...]:
    """The photographs as RGB images, in :data:`PHOTOS` order."""
    try:
        import skimage.data
    except ImportError:
        raise DataError("data.name 'skimage-photos' reads the photographs shipped with scikit-image, which is not "
                        "installed: pip install scikit-image") from None  # fmt: skip
    folder = Path(skimage.data.data_dir)
    out = []
    for name in PHOTOS:
        path = folder / name
        try:
            with Image.open(path) as im:
                out.append(im.convert("RGB"))
        except OSError as e:
            raise DataError(f"{path}: cannot read scikit-image's photograph {name} ({e}); reinstall scikit-image "
                            f"(pip install --force-reinstall scikit-image).") from None  # fmt: skip
    return tuple(out)


def tile_items(sizes: list[tuple[int, int]], s: int, split: str, holdout: bool = False) -> list[CropItem]:
    """The items of ``split`` for photos of ``sizes`` (width, height) and tile side ``s`` (module docstring)."""
    if split not in ("train", "val", "test"):
        raise DataError(f"split {split!r}: expected train, val or test.")
    items = []
    for p, (w, h) in enumerate(sizes):
        rows, cols = h // s, w // s
        if rows < 3:
            raise ConfigError(f"data.image_size {s}: {PHOTOS[p]} ({w} x {h}) holds fewer than 3 rows of {s}-pixel tiles "
                              f"(train, val, test); use image_size <= {min(hh for _, hh in sizes) // 3}.")  # fmt: skip
        k = max(1, round(rows / HELD_SHARE))
        bands = {"test": (rows - k, rows), "val": (rows - 2 * k, rows - k),
                 "train": (0, rows - 2 * k if holdout else rows - k)}  # fmt: skip
        first, last = bands[split]
        x0 = (w - cols * s) // 2
        box = (0, first * s, w, last * s)
        items += [CropItem(p, box, (x0 + c * s, r * s)) for r in range(first, last) for c in range(cols)]
    return items


@SOURCES.register("skimage-photos")
class SkimagePhotos(SuperResolution):
    """RGB super-resolution on scikit-image's photographs (module docstring); ``data.scale`` None means 4."""

    default_scale = 4

    def dataset(self, cfg: Any, split: str, limit: int | None, holdout: bool = False) -> CropPairs:
        self.checked(cfg)
        photos = load_photos()
        s = self.hr_size(cfg)
        items = tile_items([im.size for im in photos], s, split, holdout)[:limit]
        return CropPairs(items, photos.__getitem__, s, self.sr_scale(cfg), cfg.degradation, self.channels(cfg)[0],
                         not cfg.no_flip)  # fmt: skip

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TranslationSource:  # fmt: skip
        ds = self.dataset(cfg, cfg.split, cfg.limit, holdout and cfg.split == "train")
        return TranslationSource(ds, batch_size, device, seed, 0, rank, world_size)  # in memory: no workers

    def load_pairs(self, cfg: Any, split: str, limit: int | None) -> Pair:
        ds = self.dataset(cfg, split, limit)
        a, b = load_stack(ds, [(i, -1) for i in range(ds.num_items)])
        return a, b
