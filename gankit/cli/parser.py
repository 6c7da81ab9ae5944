"""Every subcommand and its arguments; each argument has a type from :mod:`gankit.cli.args`."""

from __future__ import annotations

import argparse

from gankit.cli import args as a
from gankit.cli import commands as c


def build_parser() -> argparse.ArgumentParser:
    ap = a.Parser(prog="gankit", description="Train, evaluate, diagnose and serve GANs.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=a.Parser)

    p = sub.add_parser("train", help="train a recipe")
    p.add_argument("config", type=a.recipe, help="recipe YAML path or name from configs/ (see `gankit recipes`)")
    p.add_argument("--set", action="append", type=a.override, metavar="KEY=VALUE", help="override a config value, e.g. train.batch_size=128")
    p.add_argument("--out", type=a.out_dir, help="run folder (default runs/<recipe>-<timestamp>)")
    p.add_argument("--max-steps", type=a.steps, help="generator steps to train for")
    p.add_argument("--resume", type=a.resume, metavar="auto|PATH",
                   help="continue from the newest intact checkpoint (auto) or a given run/checkpoint folder")
    p.add_argument("--seed", type=a.seed)
    p.set_defaults(func=c.cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained generator")
    p.add_argument("run", type=a.existing_dir("a run folder or checkpoint folder"), help="run folder or checkpoint folder")
    p.add_argument("--n", type=a.count, default=64)
    p.add_argument("--seed", type=a.seed, default=0)
    p.add_argument("--out", required=True, type=a.out_file((".png", ".npy")),
                   help=".png (grid / scatter) or .npy (uint8 NCHW images, float32 ND vectors)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--class", dest="klass", type=a.integer(0, a.MAX_CLASS), metavar="K", help="conditional models: every sample of class K")
    which.add_argument("--classes", type=a.class_list, metavar="0,3,7", help="conditional models: these classes, one grid row each")
    which.add_argument("--per-class", type=a.count, metavar="M", help="conditional models: M samples of every class")
    p.add_argument("--truncation", type=a.real(0.0, 100.0, lo_open=True), metavar="T",
                   help="redraw noise entries with |z| > T (BigGAN's truncation trick)")
    p.add_argument("--psi", type=a.real(0.0, 1.0), default=1.0, metavar="PSI",
                   help="truncation in w: w_avg + psi (w - w_avg) for a style-based G, z x psi otherwise (1: none)")
    p.add_argument("--reject", choices=["drs", "mh"],
                   help="filter G's samples with the run's D: drs (discriminator rejection sampling) or mh (Metropolis-Hastings GAN)")
    p.add_argument("--gamma", type=a.real(-1000.0, 1000.0), metavar="G",
                   help="--reject drs: the acceptance shift (default: the 95th percentile of F; 0: exact; lower accepts more)")
    p.add_argument("--chain-length", type=a.integer(1, 100_000), default=100, metavar="K", help="--reject mh: proposals per sample")
    p.set_defaults(func=c.cmd_sample)

    from gankit.cli.translate import add_parser as add_translate

    add_translate(sub, a, a.existing_dir("a run folder or checkpoint folder"))
    from gankit.cli.restore import add_parsers as add_restore

    add_restore(sub, a, a.existing_dir("a run folder or checkpoint folder"))
    from gankit.cli.serve import add_parser as add_serve

    add_serve(sub, a)
    from gankit.cli.export import add_parser as add_export

    add_export(sub, a)
    from gankit.cli.augment import add_parser as add_augment

    add_augment(sub, a)

    p = sub.add_parser("latent", help="latent-space tools: interpolate, truncation, style-mix")
    lsub = p.add_subparsers(dest="latent_command", required=True, parser_class=a.Parser)
    run_arg = ("run", {"type": a.existing_dir("a run folder or checkpoint folder"), "help": "run folder or checkpoint folder"})
    klass = ("--class", {"dest": "klass", "type": a.integer(0, a.MAX_CLASS), "metavar": "K", "help": "conditional models: the class"})
    f = lsub.add_parser("interpolate", help="slerp in z / lerp in w between two seeds: a grid (.png) or an animation (.gif)")
    f.add_argument(run_arg[0], **run_arg[1])
    f.add_argument("--from", dest="seed_from", type=a.seed, required=True, metavar="SEED")
    f.add_argument("--to", dest="seed_to", type=a.seed, required=True, metavar="SEED")
    f.add_argument("--steps", type=a.integer(2, 1000, "steps"), default=8)
    f.add_argument("--space", choices=["z", "w"], default="z", help="w needs a style-based G")
    f.add_argument(klass[0], **klass[1])
    f.add_argument("--out", required=True, type=a.out_file((".png", ".gif")))
    f = lsub.add_parser("truncation", help="rows of seeds at several truncations psi (in w for a style-based G, z x psi otherwise)")
    f.add_argument(run_arg[0], **run_arg[1])
    f.add_argument("--seeds", type=a.seed_list, default=[0, 1, 2, 3], metavar="0,1,2")
    f.add_argument("--psi", type=a.float_list(0.0, 2.0), default=[1.0, 0.7, 0.5, 0.0], metavar="1,0.7,0.5,0")
    f.add_argument(klass[0], **klass[1])
    f.add_argument("--out", required=True, type=a.out_file((".png",)))
    f = lsub.add_parser("style-mix", help="the style-mixing figure: rows take the columns' coarse/middle/fine styles")
    f.add_argument(run_arg[0], **run_arg[1])
    f.add_argument("--rows", type=a.seed_list, default=[0, 1, 2, 3], metavar="SEEDS")
    f.add_argument("--cols", type=a.seed_list, default=[10, 11, 12, 13], metavar="SEEDS")
    f.add_argument("--layers", default="coarse", help="coarse, middle, fine, or w indices like 0-3")
    f.add_argument(klass[0], **klass[1])
    f.add_argument("--out", required=True, type=a.out_file((".png",)))
    f = lsub.add_parser("project", help="GAN inversion: the w (and noise) or z that reconstructs an image")
    f.add_argument(run_arg[0], **run_arg[1])
    f.add_argument("--image", required=True, type=a.existing_file("an image", (".png", ".jpg", ".jpeg", ".webp", ".bmp")))
    f.add_argument("--steps", type=a.integer(1, 100_000, "steps"), default=300)
    f.add_argument("--out", required=True, type=a.out_dir)
    f = lsub.add_parser("edit", help="move seeds along a latent direction: pca:I (GANSpace), class:K (a linear probe) or a file")
    f.add_argument(run_arg[0], **run_arg[1])
    f.add_argument("--direction", required=True, help="pca:I, class:K, or a .safetensors file with a 'direction' tensor")
    f.add_argument("--strength", type=a.real(0.0, 100.0, lo_open=True), default=3.0, help="move from -S to +S (in stds)")
    f.add_argument("--steps", type=a.integer(2, 21, "columns"), default=7)
    f.add_argument("--seeds", type=a.seed_list, default=[0, 1, 2, 3], metavar="0,1,2")
    f.add_argument("--out", required=True, type=a.out_file((".png",)))
    p.set_defaults(func=c.cmd_latent)

    p = sub.add_parser("data", help="datasets")
    dsub = p.add_subparsers(dest="data_command", required=True, parser_class=a.Parser)
    f = dsub.add_parser("fetch", help="fetch a dataset into the gankit data cache")
    from gankit.data.fetch import fetch_names

    f.add_argument("name", choices=fetch_names())
    f.add_argument("--root", type=a.out_dir, help="folder to put the files in (default: the gankit data cache)")
    f.set_defaults(func=c.cmd_data_fetch)

    p = sub.add_parser("recipes", help="list the shipped recipes")
    p.set_defaults(func=c.cmd_recipes)

    p = sub.add_parser("checkpoints", help="list a run's checkpoints: step, size, ok or corrupt (and why)")
    p.add_argument("run", type=a.existing_dir("a run folder"), help="run folder (or its checkpoints/ folder)")
    p.set_defaults(func=c.cmd_checkpoints)

    p = sub.add_parser("eval", help="FID/KID/IS/precision-recall/coverage/memorisation, with their protocol")
    p.add_argument("target", type=a.existing_path("a run folder, checkpoint folder, image folder or .npy"),
                   help="run folder, checkpoint folder, folder of images, or .npy from `gankit sample`")
    p.add_argument("--metrics", type=a.metric_list, help="comma list of fid,kid,is,pr,classes,coverage,memorization,class_consistency,intra_fid,cas,ppl "
                   "(default: fid,kid,is,pr,classes; coverage for 2D; a conditional run adds class_consistency,intra_fid)")
    p.add_argument("--extractor", default="auto", choices=["auto", "fmnist", "inception"], help="auto: fmnist for 28x28 grayscale, else inception")
    p.add_argument("--n", type=a.count, default=10000, help="generated (and reference) samples")
    p.add_argument("--ref", type=a.reference, help="reference: fashion-mnist:test (default), fashion-mnist:train, mnist:test, or a folder")
    p.add_argument("--train-ref", type=a.reference, default="fashion-mnist:train", help="training set for memorization")
    p.add_argument("--mixture", choices=["ring8", "grid25"], help="for 2D samples given as .npy")
    p.add_argument("--labels", type=a.existing_file("a labels file", (".npy",)),
                   help="classes the samples were generated for (.npy, int64 N); default: SAMPLES.labels.npy beside a .npy")
    p.add_argument("--seed", type=a.seed, default=0)
    p.add_argument("--device", type=a.device, default="cpu")
    p.add_argument("--inception-weights", type=a.existing_file("the pt_inception-2015-12-05 weights"),
                   help="pt_inception-2015-12-05 weights file, for offline Inception metrics")
    p.add_argument("--ppl-similarity", default="auto", choices=["auto", "fmnist", "pixels", "lpips"],
                   help="network of ppl: auto (fmnist for 28x28 grayscale, else pixels), fmnist, pixels, or lpips "
                   "(LPIPS-VGG v0.1, the StyleGAN paper's; needs --lpips-weights and --vgg-weights)")
    weights = (".pth", ".pt", ".safetensors")
    p.add_argument("--lpips-weights", type=a.existing_file("the LPIPS v0.1 VGG lin-layer weights (vgg.pth)", weights),
                   help="LPIPS v0.1 linear layers (lpips/weights/v0.1/vgg.pth of the LPIPS repo), for --ppl-similarity lpips")
    p.add_argument("--vgg-weights", type=a.existing_file("torchvision VGG16 weights (vgg16-397923af.pth)", weights),
                   help="torchvision's ImageNet VGG16 state dict (vgg16-397923af.pth), for --ppl-similarity lpips")
    p.add_argument("--out", type=a.out_dir, help="folder for report.json and pictures (default: RUN/eval/<checkpoint>)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--truncation-sweep", type=a.float_list(0.0, 1.0), metavar="1,0.9,...,0.5",
                   help="a run folder: FID, precision and recall at each psi instead of --metrics (table + plot in --out)")
    p.set_defaults(func=c.cmd_eval)

    p = sub.add_parser("doctor", help="diagnose a run: report.html with curves, warnings and grids over time")
    p.add_argument("run", type=a.existing_dir("a run folder"), help="run folder")
    p.add_argument("--out", type=a.out_file((".html",)), help="report path (default RUN/report.html)")
    p.set_defaults(func=c.cmd_doctor)

    from gankit.diagnostics.recommend import TASKS

    p = sub.add_parser("recommend", help="which recipe to start from, and why")
    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--data-size", type=a.integer(1, 10**10, "images"), required=True, help="number of training images")
    p.add_argument("--quality", choices=["high"])
    p.add_argument("--realtime", action="store_true", help="generation must be fast (small generator)")
    p.set_defaults(func=c.cmd_recommend)

    p = sub.add_parser("features", help="feature extractors for evaluation")
    fsub = p.add_subparsers(dest="features_command", required=True, parser_class=a.Parser)
    f = fsub.add_parser("train", help="train the Fashion-MNIST feature extractor shipped with gankit")
    f.add_argument("dataset", choices=["fashion-mnist"])
    f.add_argument("--out", type=a.out_file((".safetensors",)),
                   help="weights file (default: the packaged gankit/assets/fmnist_classifier.safetensors)")
    f.add_argument("--epochs", type=a.integer(1, 1000, "epochs"), default=None)
    f.add_argument("--seed", type=a.seed, default=0)
    f.add_argument("--device", type=a.device, default="cpu")
    f.set_defaults(func=c.cmd_features_train)
    return ap
