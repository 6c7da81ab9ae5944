"""``gankit eval RUN`` of an image-to-image run: translate the held-out inputs, then measure.

Paired runs (Pix2Pix): ``l1``, ``psnr``, ``ssim`` (and ``lpips`` with its weights) of each output
against its own target, and ``fid`` of the outputs against the target set. Unpaired runs
(CycleGAN): ``fid`` / ``kid`` of the translated images against the target domain's test images,
``target_class`` (the built-in Fashion-MNIST tasks) and ``cycle_l1``, the L1 of a -> b -> a against
a. The target images become a reference folder cached by content, so their statistics are cached
and keyed like any folder reference's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import torch

from gankit.errors import GankitError
from gankit.metrics.protocol import EvalReport, MetricResult

PAIRED = ("l1", "psnr", "ssim", "fid")
UNPAIRED = ("fid", "kid", "target_class", "cycle_l1")


def target_folder(images: torch.Tensor) -> Path:
    """A folder of PNGs holding ``images`` (uint8 N x C x H x W), written once per content (atomic rename)."""
    from gankit.metrics.refstats import cache_dir
    from gankit.utils.images import save_png

    digest = hashlib.sha256(images.contiguous().numpy().tobytes() + str(tuple(images.shape)).encode()).hexdigest()[:20]
    folder = cache_dir().parent / "translation-refs" / digest
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{digest}."))
    try:
        for i, im in enumerate(images):
            a = im.numpy()
            save_png(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0), tmp / f"{i:06d}.png")
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not folder.is_dir():
            raise
    return folder


def target_class_of(cfg: Any) -> int | None:
    """The Fashion-MNIST class of the target domain of a built-in unpaired task (after ``direction``)."""
    from gankit.data.translate_builtin import UNPAIRED as CLASSES

    pair = CLASSES.get(cfg.data.name)
    if pair is None:
        return None
    return pair[0] if cfg.data.direction == "BtoA" else pair[1]


def evaluate_translation(gen: Any, metrics: Sequence[str] | str | None = None, n: int = 10000, split: str = "test",
                         extractor: str = "auto", seed: int = 0, device: str = "cpu", out_dir: str | Path | None = None,
                         **kw: Any) -> EvalReport:  # fmt: skip
    """Translate ``n`` held-out inputs of ``gen``'s data (a :func:`gankit.load` result) and measure them."""
    from gankit.data import is_paired, load_translation_pairs
    from gankit.inference import load
    from gankit.metrics import evaluate

    cfg = gen.cfg
    paired = is_paired(cfg.data)
    wanted = [m for m in (metrics.split(",") if isinstance(metrics, str) else metrics or (PAIRED if paired else UNPAIRED)) if m]
    if paired and "cycle_l1" in wanted:
        raise GankitError("cycle_l1 measures a -> b -> a of an unpaired (CycleGAN) run; this run is paired.")
    a, b = load_translation_pairs(cfg.data, split, limit=n)
    if b is None:
        raise GankitError(f"{cfg.data.name}: the {split} split has no target images to compare with.")
    with torch.no_grad():
        outputs = gen.translate(a, device=device)
    rest = [m for m in wanted if m != "cycle_l1"]
    common = dict(extractor=extractor, ref=str(target_folder(b)), n=len(outputs), seed=seed, device=device, out_dir=out_dir) | kw
    rep = evaluate(outputs, rest, targets=b if paired else None, target_class=target_class_of(cfg), **common) if rest else EvalReport()
    if "cycle_l1" in wanted:
        back = load(gen.path, direction="BtoA" if gen.weights.endswith("_AB") else "AtoB")
        rec = back.translate(outputs, device=device)
        cyc = evaluate(rec, "l1", targets=a, n=len(rec), seed=seed, device=device).get("l1")
        rep.add(MetricResult("cycle_l1", cyc.value, cyc.protocol.replace(reference="inputs (a -> b -> a)"),
                             details={**cyc.details, "path": "a -> G_AB -> G_BA", "scale": "[0, 1]"}))  # fmt: skip
        if out_dir is not None:
            rep.to_json(Path(out_dir) / "report.json")
    rep.info["translation"] = {"split": split, "inputs": len(a), "targets": len(b), "paired": paired, "direction": gen.weights}
    return rep


__all__ = ["PAIRED", "UNPAIRED", "evaluate_translation", "target_class_of", "target_folder"]
