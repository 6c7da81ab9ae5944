"""``gankit augment --data DATASET_OR_DIR --class K --n N [--recipe R] [--minutes M] [--filter F] --out DIR``.

Trains (or, with ``--run RUN``, reuses) a class-conditional GAN on the data as given and writes N
synthetic images of class K as ``DIR/<class>/synthetic_000000.png ...`` with ``DIR/manifest.json``
(see :mod:`gankit.augment.command` and docs/augment.md).
"""

from __future__ import annotations

import argparse
from typing import Any

from gankit.errors import ConfigError


def _filter(text: str) -> object:
    from gankit.augment.command import parse_filter

    try:
        return parse_filter(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix(f"--filter {text!r}: ")) from None


def add_parser(sub: Any, a: Any) -> None:
    p = sub.add_parser("augment", help="synthetic images of a (rare) class from a conditional GAN, as an ImageFolder to merge")
    p.add_argument("--data", metavar="DATASET_OR_DIR",
                   help="a built-in dataset (fashion-mnist, mnist) or an image folder with one subfolder per class")
    p.add_argument("--class", dest="klass", required=True, metavar="K", help="the class to generate: an id or a name")
    p.add_argument("--n", type=a.count, required=True, help="how many synthetic images to write")
    p.add_argument("--recipe", type=a.recipe, help="a class-conditional recipe (default tacgan_fashion_mnist)")
    p.add_argument("--minutes", type=a.real(0.0, 100_000.0, lo_open=True), metavar="M", help="training budget (default: the recipe's)")
    p.add_argument("--filter", type=_filter, default="none", metavar="none|confidence:T|drs",
                   help="none; confidence:0.9 (keep p(K) >= 0.9 by a classifier trained on the same data); "
                   "drs or drs:GAMMA (discriminator rejection sampling)")  # fmt: skip
    p.add_argument("--run", type=a.existing_dir("a run folder or checkpoint folder"), help="reuse this conditional run instead of training")
    p.add_argument("--out", required=True, type=a.out_dir, help="folder for <class>/synthetic_*.png and manifest.json")
    p.add_argument("--seed", type=a.seed, default=0, help="training seed and sampling seed")
    p.add_argument("--set", action="append", type=a.override, metavar="KEY=VALUE", help="override a recipe value for the new training")
    p.add_argument("--train-out", type=a.out_dir, metavar="RUN_DIR",
                   help="run folder of the new training (default runs/augment-<recipe>-<time>)")
    p.set_defaults(func=cmd_augment)


def cmd_augment(args: argparse.Namespace) -> int:
    from gankit.augment.command import AugmentRequest, augment

    m = augment(AugmentRequest(klass=args.klass, n=args.n, out=args.out, data=args.data, recipe=args.recipe, minutes=args.minutes,
                               filter=args.filter, run=args.run, seed=args.seed, sets=list(args.set or []),
                               train_out=args.train_out))  # fmt: skip
    cls = m["class"]
    print(f"wrote {m['n']} images of class {cls['id']} ({cls['name']}) to {args.out / m['folder']}")
    print(f"  from:     {m['checkpoint']} (step {m['step']}, {m['weights']})")
    print(f"  filter:   {m['filter']['kind']}: {m['accepted']:,} of {m['proposed']:,} proposals accepted ({m['acceptance_rate']:.1%})")
    if "class_consistency" in m["metrics"]:
        print(f"  class consistency (Fashion-MNIST classifier): {m['metrics']['class_consistency']:.1%}")
    print(f"  manifest: {args.out / 'manifest.json'}")
    print(f"  merge:    copy {args.out / m['folder']}/* into your data's {m['folder']}/ folder")
    return 0
