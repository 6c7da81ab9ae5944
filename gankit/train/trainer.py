"""The training loop: alternating D and G phases, with logging, sample grids and checkpoints.

The loop knows nothing about particular GAN variants: the recipe picks networks, a loss and
optimizers, and hooks (evaluation, diagnostics) attach to step intervals. Lightning Fabric owns
devices, DDP and mixed precision.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from gankit.config import Config, to_yaml
from gankit.data import build_source
from gankit.errors import CheckpointError, ConfigError, TrainingDiverged
from gankit.regularizers import StepContext, Targets
from gankit.train.build import GanModel, build_gan, build_optimizer, lr_factor
from gankit.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from gankit.train.logger import RunLogger
from gankit.utils.images import make_grid, render_scatter, save_png, save_scatter, to_uint8
from gankit.utils.io import atomic_write_text
from gankit.utils.progress import live, progress_bar


class Hook:
    """Evaluation and diagnostics attach here; every method is optional. Hooks run on every rank."""

    def on_start(self, trainer: "Trainer") -> None:
        """Before the first step (after a resume has been restored)."""

    def on_log(self, trainer: "Trainer", step: int, values: dict[str, float]) -> None:
        """Every ``log.log_every`` steps on rank 0, with the numbers just logged."""

    def on_eval(self, trainer: "Trainer", step: int) -> dict[str, float]:
        """Every ``log.eval_every`` steps; returned numbers are logged as ``kind: eval``."""
        return {}

    def on_end(self, trainer: "Trainer", status: str) -> None:
        """After the final checkpoint."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    status: str  # "finished" | "time_budget" | "interrupted"
    checkpoint: Path | None
    grid: Path | None
    last_metrics: dict[str, float] = field(default_factory=dict)
    signal: int | None = None  # the signal that interrupted the run


@contextmanager
def _graceful_stop() -> Iterator[dict[str, int | None]]:
    """SIGINT/SIGTERM set a flag; the loop finishes its step, checkpoints and returns.

    A second SIGINT raises KeyboardInterrupt at once, for a user who really wants out.
    """
    flag: dict[str, int | None] = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: Any) -> None:
        if flag["signal"] is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["signal"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _grad_norm(module: nn.Module) -> torch.Tensor:
    grads = [p.grad.detach().flatten() for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.cat(grads))


class Trainer:
    def __init__(self, cfg: Config, run_dir: str | Path, resume_from: Path | None = None, hooks: list[Hook] | None = None) -> None:
        from lightning_fabric import Fabric

        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.hooks = list(hooks or [])
        tc = cfg.train
        if tc.precision == "16-mixed" and not torch.cuda.is_available():
            raise ConfigError("train.precision: '16-mixed' needs a CUDA GPU; on CPU use '32' or 'bf16-mixed'.")
        if tc.accelerator == "cuda" and not torch.cuda.is_available():
            raise ConfigError("train.accelerator: 'cuda' requested but no CUDA GPU is visible; use 'auto' or 'cpu'.")
        strategy = tc.strategy if tc.devices > 1 else "auto"
        self.fabric = Fabric(accelerator=tc.accelerator, devices=tc.devices, strategy=strategy, precision=tc.precision)
        self.fabric.launch()
        self.is_main = self.fabric.is_global_zero

        self.source = build_source(
            cfg.data, tc.batch_size, self.fabric.device, cfg.seed, rank=self.fabric.global_rank, world_size=self.fabric.world_size
        )
        self.gan: GanModel = build_gan(cfg, self.source.sample_shape)
        self.loss = self.gan.loss
        self.regs = self.gan.regularizers
        self._needs_targets = any(r.needs_targets for r in self.regs)
        self.n_critic = tc.n_critic or self.loss.n_critic
        self.G_raw, self.D_raw = self.gan.G, self.gan.D
        opt_g = build_optimizer(list(self.G_raw.parameters()), cfg.optim.g)
        opt_d = build_optimizer(list(self.D_raw.parameters()), cfg.optim.d)
        self.G, self.opt_g = self.fabric.setup(self.G_raw, opt_g)
        self.D, self.opt_d = self.fabric.setup(self.D_raw, opt_d)
        self.base_lr = {"g": cfg.optim.g.lr, "d": cfg.optim.d.lr}
        self.step = 0
        self._last_real: torch.Tensor | None = None
        # With one D step per G step, the G step reuses the D step's fakes (same z, graph kept):
        # one generator forward per iteration instead of two, as in the classic DCGAN loop.
        self._reuse_fakes = self.n_critic == 1 and not any(getattr(r, "scores_for_g", False) for r in self.regs)
        self._pending_fake: torch.Tensor | None = None
        self.logger: RunLogger | None = None  # set while fit() runs (rank 0); hooks may log through it
        for r in self.regs:
            r.setup(self)
        # Fixed noise for sample grids: its own generator, so grids are comparable across steps and resumes.
        g = torch.Generator().manual_seed(cfg.seed + 7919)
        n_fixed = 2500 if self.source.kind == "vector" else cfg.log.grid_size
        self.fixed_z = torch.randn(n_fixed, self.gan.z_dim, generator=g).to(self.fabric.device)
        # Per-rank noise stream for training.
        torch.manual_seed(cfg.seed * 1000 + 17 + self.fabric.global_rank)
        self.resumed_from: Path | None = None
        if resume_from is not None:
            self._restore(resume_from)

    # ------------------------------------------------------------------ phases

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.gan.z_dim, device=self.fabric.device)

    def _d_input(self, x: torch.Tensor) -> torch.Tensor:
        for r in self.regs:
            x = r.transform_d_input(x, self.step, self.cfg.train.max_steps)
        return x

    def d_step(self, want_stats: bool, index: int = 0) -> dict[str, torch.Tensor]:
        real = self.source.next_batch()
        if self._reuse_fakes:
            self._pending_fake = self.G(self._noise(real.shape[0]))
            fake = self._pending_fake.detach()
        else:
            with torch.no_grad(), self.fabric.autocast():
                fake = self.G_raw(self._noise(real.shape[0]))
        real, fake = self._d_input(real), self._d_input(fake)
        self._last_real = real
        real_s, fake_s = self.D(real).float(), self.D(fake).float()
        targets = None
        if self._needs_targets:
            targets = Targets(torch.ones_like(real_s), torch.zeros_like(fake_s))
            for r in self.regs:
                targets = r.d_targets(targets, self.step)
        loss = self.loss.d_loss(real_s, fake_s, targets)
        out = {"d_loss": loss.detach()}
        pen = self.loss.penalty(self.D, real, fake)
        if pen is not None:
            loss = loss + pen
            out["d_penalty"] = pen.detach()
        if self.regs:
            ctx = StepContext(self.step, self.cfg.train.max_steps, self.D, self.G, real, fake, real_s, fake_s, self.loss,
                              d_step_index=self.step * self.n_critic + index)  # fmt: skip
            for r in self.regs:
                term = r.d_term(ctx)
                if term is not None:
                    loss = loss + term
            out |= {f"d_{k}": v for k, v in ctx.logs.items()}
        self.opt_d.zero_grad(set_to_none=True)
        self.fabric.backward(loss)
        if self.cfg.train.grad_clip:
            out["grad_norm_d"] = self.fabric.clip_gradients(self.D, self.opt_d, max_norm=self.cfg.train.grad_clip).detach()
        elif want_stats:
            out["grad_norm_d"] = _grad_norm(self.D_raw)
        self.opt_d.step()
        self.loss.after_d_step(self.D_raw)
        out["d_total"] = loss.detach()
        if want_stats:
            acc_r, acc_f = self.loss.accuracy(real_s.detach(), fake_s.detach())
            out |= {
                "d_real": self.loss.prob(real_s.detach()).mean(),
                "d_fake": self.loss.prob(fake_s.detach()).mean(),
                "acc_real": acc_r,
                "acc_fake": acc_f,
                "_real_scores": real_s.detach(),
                "_fake_scores": fake_s.detach(),
            }
        return out

    def g_step(self, want_stats: bool) -> dict[str, torch.Tensor]:
        D = self.D_raw
        D.requires_grad_(False)  # no weight grads for D here: saves a third of the backward
        try:
            raw_fake, self._pending_fake = self._pending_fake, None
            fake = self._d_input(raw_fake if raw_fake is not None else self.G(self._noise(self.cfg.train.batch_size)))
            ctx = StepContext(self.step, self.cfg.train.max_steps, D, self.G, real=self._last_real, fake=fake, loss=self.loss)
            with self.fabric.autocast():  # D called unwrapped: no DDP sync for a network not updated here
                scores = next((s for r in self.regs if (s := r.g_scores(ctx, fake)) is not None), None)
                scores = (D(fake) if scores is None else scores).float()
                ctx.fake_scores = scores
                loss = self.loss.g_loss(scores)
                adv = loss
                for r in self.regs:
                    term = r.g_term(ctx)
                    if term is not None:
                        loss = loss + term
            self.opt_g.zero_grad(set_to_none=True)
            self.fabric.backward(loss)
        finally:
            D.requires_grad_(True)
        out = {"g_loss": adv.detach(), "g_total": loss.detach(), **{f"g_{k}": v for k, v in ctx.logs.items()}}
        if self.cfg.train.grad_clip:
            out["grad_norm_g"] = self.fabric.clip_gradients(self.G, self.opt_g, max_norm=self.cfg.train.grad_clip).detach()
        elif want_stats:
            out["grad_norm_g"] = _grad_norm(self.G_raw)
        self.opt_g.step()
        for r in self.regs:
            r.after_g_step(self)
        return out

    # ------------------------------------------------------------------ loop

    def _set_lr(self) -> None:
        f = lr_factor(self.step, self.cfg.train.max_steps, self.cfg.train.lr_decay, self.cfg.train.lr_decay_start)
        for key, opt in (("g", self.opt_g), ("d", self.opt_d)):
            for group in opt.param_groups:
                group["lr"] = self.base_lr[key] * f

    def fit(self) -> TrainResult:
        cfg, tc = self.cfg, self.cfg.train
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run_dir / "config.yaml", to_yaml(cfg))
        logger = RunLogger(self.run_dir, cfg.log.tensorboard, resume_step=self.step if self.resumed_from else None) if self.is_main else None
        self.logger = logger
        pbar = None
        if self.is_main and cfg.log.progress:
            pbar = progress_bar(total=tc.max_steps, initial=self.step, desc=cfg.name, unit="step", dynamic_ncols=True)
        start_time = time.monotonic()
        last_log_t, last_log_step = start_time, self.step
        status, grid, signum = "finished", None, None
        evaluated_at = -1
        last: dict[str, float] = {}
        imgs_per_step = tc.batch_size * self.fabric.world_size * self.n_critic
        for hook in self.hooks:
            hook.on_start(self)
        try:
            with _graceful_stop() as stop:
                while self.step < tc.max_steps:
                    want = (self.step + 1) % cfg.log.log_every == 0 or self.step == 0
                    self._set_lr()
                    d_out: dict[str, torch.Tensor] = {}
                    for i in range(self.n_critic):
                        d_out = self.d_step(want and i == self.n_critic - 1, i)
                    g_out = self.g_step(want)
                    losses = torch.stack([d_out["d_total"].float(), g_out["g_total"].float()])
                    over_budget = tc.max_minutes is not None and time.monotonic() - start_time > tc.max_minutes * 60
                    # One agreement per step for everything that ends a run (a single collective under DDP).
                    diverged, interrupted, over_budget = self._agree(
                        not bool(torch.isfinite(losses).all()), stop["signal"] is not None, over_budget
                    )
                    if diverged:
                        self._diverged(losses)
                    self.step += 1
                    if pbar is not None:
                        pbar.update(1)
                    if want and logger is not None:
                        now = time.monotonic()
                        rate = (self.step - last_log_step) / max(now - last_log_t, 1e-9)
                        last_log_t, last_log_step = now, self.step
                        last = self._log(logger, d_out, g_out, rate * imgs_per_step)
                        for hook in self.hooks:
                            hook.on_log(self, self.step, last)
                        if pbar is not None:
                            pbar.set_postfix(d=f"{last['d_loss']:.3f}", g=f"{last['g_loss']:.3f}", img_s=f"{last['img_per_s']:.0f}",
                                             refresh=live(pbar))
                    if self.step % cfg.log.eval_every == 0:
                        grid, evaluated_at = self._evaluate(logger), self.step
                    if self.step % cfg.log.ckpt_every == 0:
                        self.save()
                    if interrupted:
                        status, signum = "interrupted", stop["signal"]
                        break
                    if over_budget:
                        status = "time_budget"
                        break
                # Decided from the step alone: every rank must make the same collective calls (a rank
                # other than 0 has no grid, and asking `grid is None` there deadlocked DDP).
                if evaluated_at != self.step:
                    grid = self._evaluate(logger)
                ckpt = self.save()
                for hook in self.hooks:
                    hook.on_end(self, status)
                if logger is not None:
                    logger.log(self.step, {"status": status}, kind="end")
        except TrainingDiverged as e:
            if logger is not None:
                logger.log(self.step, {"message": str(e)}, kind="error")
            raise
        finally:
            if pbar is not None:
                pbar.close()
            if logger is not None:
                logger.close()
        final_grid = None
        if self.is_main and grid is not None:
            final_grid = self.run_dir / "samples" / "final.png"
            final_grid.write_bytes(grid.read_bytes())
        return TrainResult(self.run_dir, self.step, status, ckpt, final_grid, last, signum)

    def _agree(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag true on any rank is true on all of them.

        A signal reaches one rank (or reaches them at different steps) and each rank has its own
        clock; if ranks decided alone, one would stop while another waited in the next all-reduce.
        """
        if self.fabric.world_size == 1:
            return flags
        t = torch.tensor([float(f) for f in flags], device=self.fabric.device)
        return tuple(bool(v > 0) for v in self.fabric.all_reduce(t, reduce_op="sum").tolist())

    def warn(self, message: str, **numbers: Any) -> None:
        """Print a warning above the progress bar and record it in metrics.jsonl (``kind: warning``)."""
        if not self.is_main:
            return
        from tqdm.auto import tqdm

        tqdm.write(f"[step {self.step}] WARNING: {message}", file=sys.stderr)
        if self.logger is not None:
            self.logger.log(self.step, {"message": message, **numbers}, kind="warning")

    def _diverged(self, losses: torch.Tensor) -> None:
        d, g = losses.tolist()
        where = "" if self.fabric.world_size == 1 else f" (on rank {self.fabric.global_rank}'s batch or another rank's)"
        raise TrainingDiverged(
            f"training diverged at step {self.step + 1}: D loss = {d}, G loss = {g}{where}. "
            f"The last good checkpoint in {self.run_dir / 'checkpoints'} is untouched; "
            "try a lower learning rate (optim.g.lr / optim.d.lr), train.grad_clip, or a different loss."
        )

    def _log(self, logger: RunLogger, d_out: dict[str, torch.Tensor], g_out: dict[str, torch.Tensor], img_per_s: float) -> dict[str, float]:
        values = {k: float(v) for k, v in {**d_out, **g_out}.items() if not k.startswith("_")}
        values["g_d_loss_ratio"] = values["g_loss"] / values["d_loss"] if values["d_loss"] != 0 else math.inf
        values["lr_g"] = self.opt_g.param_groups[0]["lr"]
        values["lr_d"] = self.opt_d.param_groups[0]["lr"]
        values["img_per_s"] = img_per_s
        logger.log(self.step, values)
        if "_real_scores" in d_out:
            logger.histogram("scores/real", d_out["_real_scores"].cpu(), self.step)
            logger.histogram("scores/fake", d_out["_fake_scores"].cpu(), self.step)
        return values

    # ------------------------------------------------------------------ sampling and evaluation

    @property
    def sampling_G(self) -> nn.Module:
        """The generator samples and evaluations use: the EMA copy where enabled."""
        return next((g for r in self.regs if (g := r.sampling_generator()) is not None), self.G_raw)

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Samples in eval mode (BatchNorm running statistics); the train/eval mode is restored after."""
        G = self.sampling_G
        was_training = G.training
        G.eval()
        try:
            with self.fabric.autocast():
                out = torch.cat([G(chunk) for chunk in z.split(512)])
        finally:
            G.train(was_training)
        return out.float()

    def _evaluate(self, logger: RunLogger | None) -> Path | None:
        extra: dict[str, float] = {}
        for hook in self.hooks:
            extra |= hook.on_eval(self, self.step) or {}
        if not self.is_main or logger is None:
            return None
        samples = self.generate(self.fixed_z)
        path = self.run_dir / "samples" / f"step-{self.step:06d}.png"
        if self.source.kind == "vector":
            from gankit.data.toy2d import mixture_params

            means = mixture_params(self.cfg.data.name)[0] if self.cfg.data.name in ("ring8", "grid25") else None
            save_scatter(samples, path, means, title=f"{self.cfg.name} step {self.step}")
            logger.image("samples", render_scatter(samples, means), self.step)
        else:
            arr = make_grid(to_uint8(samples))
            save_png(arr, path)
            logger.image("samples", arr, self.step)
        if extra:
            logger.log(self.step, extra, kind="eval")
        return path

    # ------------------------------------------------------------------ checkpoints

    def _state(self) -> dict[str, Any]:
        rng: dict[str, Any] = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available() and self.fabric.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.fabric.device)
        return {
            "optim_g": self.opt_g.state_dict(),
            "optim_d": self.opt_d.state_dict(),
            "data": self.source.state_dict(),
            "rng": rng,
            "hooks": [h.state_dict() for h in self.hooks],
            "regularizers": [r.state_dict() for r in self.regs],
            "config": self.cfg.model_dump(mode="json"),
            "world_size": self.fabric.world_size,
        }

    def save(self, name: str | None = None) -> Path | None:
        """Atomic checkpoint of everything needed to continue exactly (rank 0 writes).

        ``name`` writes a named checkpoint (``best``) outside the keep-last rotation.
        """
        state = self._state()
        weights = {"G": self.G_raw.state_dict(), "D": self.D_raw.state_dict()}
        for r in self.regs:
            weights |= r.extra_weights()
        path = None
        if self.is_main:
            path = save_checkpoint(self.run_dir / "checkpoints", self.step, weights, state, keep_last=self.cfg.log.keep_last, name=name)
        self.fabric.barrier()
        return path

    def _restore(self, path: Path) -> None:
        ckpt = load_checkpoint(path)
        try:
            self.G_raw.load_state_dict(ckpt.weights("G"))
            self.D_raw.load_state_dict(ckpt.weights("D"))
            self.opt_g.load_state_dict(ckpt.state["optim_g"])
            self.opt_d.load_state_dict(ckpt.state["optim_d"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(
                f"{path}: does not fit this recipe's networks ({str(e).splitlines()[0]}). "
                "Resume with the recipe the run was started with (its config.yaml)."
            ) from None
        if ckpt.state.get("world_size", 1) != self.fabric.world_size:
            raise CheckpointError(f"{path} was written by {ckpt.state.get('world_size')} processes; resume with the same number (train.devices).")
        self.source.load_state_dict(ckpt.state["data"])
        torch.set_rng_state(ckpt.state["rng"]["torch"])
        if "cuda" in ckpt.state["rng"] and self.fabric.device.type == "cuda":
            torch.cuda.set_rng_state(ckpt.state["rng"]["cuda"], self.fabric.device)
        for hook, hs in zip(self.hooks, ckpt.state.get("hooks", [])):
            hook.load_state_dict(hs)
        for r, rs in zip(self.regs, ckpt.state.get("regularizers", [])):
            r.load_state_dict(rs)
            names = r.extra_weights().keys()
            r.load_extra_weights({n: ckpt.weights(n) for n in names})
        if self.fabric.global_rank > 0:  # only rank 0's stream is saved; give the others fresh, distinct ones
            torch.manual_seed(self.cfg.seed * 1000 + 17 + self.fabric.global_rank + 7919 * ckpt.step)
        self.step = ckpt.step
        self.resumed_from = path


def find_resume(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir / "checkpoints")
    return found[-1] if found else None


def default_hooks(cfg: Config) -> list[Hook]:
    """In-loop evaluation (FID / 2D coverage, best checkpoint) and the diagnostics monitor."""
    from gankit.train.eval_hook import EvalHook

    hooks: list[Hook] = [EvalHook(cfg)]
    if cfg.monitor.enabled:
        from gankit.diagnostics.monitor import Monitor

        hooks.append(Monitor(cfg))
    return hooks


def train(cfg: Config, run_dir: str | Path, resume_from: Path | None = None, hooks: list[Hook] | None = None) -> TrainResult:
    """Train ``cfg`` into ``run_dir``; ``hooks=None`` attaches the default evaluation hooks."""
    return Trainer(cfg, run_dir, resume_from, default_hooks(cfg) if hooks is None else hooks).fit()
