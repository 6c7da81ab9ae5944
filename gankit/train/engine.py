"""The engine: runs a task's phases by interval on Lightning Fabric, and owns what no task should re-implement -- devices,
DDP and precision, logging every named term, checkpoints of every network and optimizer, exact resume, signals, NaN stops, budgets.

One step: each due phase, ``repeat`` times: draw a batch (or reuse the last), freeze what it freezes,
sum its named terms (x ``every`` if lazy), backpropagate, clip, step its optimizer, run ``after``.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.config import Config, to_yaml
from gankit.core.clock import Clock
from gankit.core.hooks import Hook, notify_error
from gankit.core.phase import Phase, PhaseContext
from gankit.core.task import Signature, TaskEnv
from gankit.data import build_source, data_spec
from gankit.errors import ConfigError, TrainingDiverged, WriteFailed
from gankit.tasks import build_task
from gankit.train.checkpoint import clean_temporaries, list_checkpoints, save_checkpoint
from gankit.train.logger import RunLogger
from gankit.train.optimizers import build_optimizer, lr_factor
from gankit.train.precision import resolve_precision
from gankit.train.run_state import engine_state, engine_weights, restore
from gankit.train.signals import graceful_stop
from gankit.utils.io import atomic_write, atomic_write_text, describe_os_error
from gankit.utils.progress import live, progress_bar


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    status: str  # "finished" | "time_budget" | "interrupted"
    checkpoint: Path | None
    grid: Path | None
    last_metrics: dict[str, float] = field(default_factory=dict)
    signal: int | None = None  # the signal that interrupted the run


def _grad_norm(params: list[nn.Parameter]) -> torch.Tensor:
    grads = [p.grad.detach().flatten() for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.cat(grads)) if grads else torch.zeros(())


class Engine:
    """Also the :class:`~gankit.core.hooks.RunView` hooks see."""

    def __init__(self, cfg: Config, run_dir: str | Path, resume_from: Path | None = None, hooks: list[Hook] | None = None) -> None:
        from lightning_fabric import Fabric

        self.cfg, self.run_dir, self.hooks = cfg, Path(run_dir), list(hooks or [])
        tc = cfg.train
        if tc.precision == "16-mixed" and not torch.cuda.is_available():
            raise ConfigError("train.precision: '16-mixed' needs a CUDA GPU; on CPU use '32' or 'bf16-mixed'.")
        if tc.accelerator == "cuda" and not torch.cuda.is_available():
            raise ConfigError("train.accelerator: 'cuda' requested but no CUDA GPU is visible; use 'auto' or 'cpu'.")
        strategy = tc.strategy if tc.devices > 1 else "auto"
        self.precision = resolve_precision(tc.precision, tc.accelerator)  # what `auto` means on this machine
        self.fabric = Fabric(accelerator=tc.accelerator, devices=tc.devices, strategy=strategy, precision=self.precision)
        self.fabric.launch()
        self.is_main, self.rank, self.world_size = self.fabric.is_global_zero, self.fabric.global_rank, self.fabric.world_size
        self.device = self.fabric.device

        spec = data_spec(cfg.data.name)
        self.sample_shape = tuple(spec.sample_shape(cfg.data))
        self.data_kind = spec.kind
        from gankit.train.eval_hook import holds_out_val

        self.source = build_source(cfg.data, tc.batch_size, self.device, cfg.seed, self.rank, self.world_size, holdout=holds_out_val(cfg))
        self.task = build_task(cfg, self.sample_shape)
        self.raw: dict[str, nn.Module] = self.task.build()
        specs = self.task.optimizers()
        trained = {n for ospec in specs.values() for n in ospec.networks}
        # Networks first (moved to the device in place), then optimizers over their parameters.
        self.nets: dict[str, nn.Module] = {
            n: (self.fabric.setup_module(m) if n in trained else self.fabric.to_device(m)) for n, m in self.raw.items()
        }
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self._opt_params: dict[str, list[nn.Parameter]] = {}
        for name, ospec in specs.items():
            if name not in cfg.optim:
                raise ConfigError(f"task '{cfg.task.name}' needs optim.{name}; the recipe has optim.{', optim.'.join(cfg.optim.names())}.")
            params = [p for n in ospec.networks for p in self.raw[n].parameters()]
            opt = build_optimizer(params, cfg.optim[name], f"optim.{name}", ospec.lazy_ratio)
            self.optimizers[name], self._opt_params[name] = self.fabric.setup_optimizers(opt), params
        self.base_lr = {k: [g["lr"] for g in o.param_groups] for k, o in self.optimizers.items()}
        self.task.bind(TaskEnv(self.nets, self.raw, self.optimizers, self.device))
        self.step, self.elapsed_before, self._t0, self._progress = 0, 0.0, time.monotonic(), 0.0
        self._stopped_at: float | None = None  # elapsed when the loop ended (the final evaluation is not training)
        self.logger: RunLogger | None = None  # set while fit() runs (rank 0); hooks may log through it
        # Fixed noise for sample grids: its own generator, so grids are comparable across steps and resumes.
        g = torch.Generator().manual_seed(cfg.seed + 7919)
        n_fixed = 2500 if self.data_kind == "vector" else cfg.log.grid_size
        self.fixed_z = torch.randn(n_fixed, self.signature["z_dim"], generator=g).to(self.device)
        torch.manual_seed(cfg.seed * 1000 + 17 + self.rank)  # per-rank noise stream for training
        self.resumed_from: Path | None = None
        if resume_from is not None:
            restore(self, resume_from)
        self._progress = self._measure_progress(self.elapsed())

    # ------------------------------------------------------------------ the view hooks see

    @property
    def signature(self) -> Signature:
        return self.task.signature()

    @property
    def clock(self) -> Clock:
        return Clock(self.step, self._progress, self.cfg.train.max_steps)

    def all_nets(self) -> dict[str, nn.Module]:
        """Every named network to checkpoint: the trained ones and the task's averaged copies (G_ema)."""
        return {**self.raw, **dict(self.task.averaged())}

    def elapsed(self) -> float:
        """Training seconds used, across resumes (the loop and its in-loop evaluations; not start-up or the final one)."""
        return self._stopped_at if self._stopped_at is not None else self.elapsed_before + time.monotonic() - self._t0

    def _measure_progress(self, elapsed: float) -> float:
        tc = self.cfg.train
        by_time = elapsed / (tc.max_minutes * 60) if tc.max_minutes else 0.0
        return min(1.0, max(self.step / tc.max_steps if tc.max_steps else 0.0, by_time))

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        return obj if self.world_size == 1 else self.fabric.broadcast(obj, src=src)

    def warn(self, message: str, **numbers: Any) -> None:
        """Print a warning above the progress bar and record it in metrics.jsonl (``kind: warning``)."""
        if not self.is_main:
            return
        from tqdm.auto import tqdm

        tqdm.write(f"[step {self.step}] WARNING: {message}", file=sys.stderr)
        if self.logger is not None:
            self.logger.log(self.step, {"message": message, **numbers}, kind="warning")

    @torch.no_grad()
    def generate(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Samples in eval mode (BatchNorm running statistics); the train/eval mode is restored after."""
        G = self.task.inference_module(self.all_nets())
        k = self.signature["num_classes"]
        if k and c is None:  # a conditional task asked without labels: every class in turn
            c = torch.arange(len(z), device=z.device) % k
        was_training = G.training
        G.eval()
        try:
            with self.fabric.autocast():
                if c is None:
                    out = torch.cat([G(chunk) for chunk in z.split(512)])
                else:
                    out = torch.cat([G(zc, cc.to(zc.device)) for zc, cc in zip(z.split(512), c.split(512))])
        finally:
            G.train(was_training)
        return out.float()

    def save(self, name: str | None = None) -> Path | None:
        """Atomic checkpoint of everything needed to continue exactly (rank 0 writes); ``name``: outside the rotation."""
        state, weights, path = engine_state(self), engine_weights(self), None
        if self.is_main:
            path = save_checkpoint(self.run_dir / "checkpoints", self.step, weights, state, keep_last=self.cfg.log.keep_last, name=name)
        self.fabric.barrier()
        return path

    # ------------------------------------------------------------------ one step

    def _set_lr(self, clock: Clock) -> None:
        f = lr_factor(clock, self.cfg.train.lr_decay, self.cfg.train.lr_decay_start)
        for key, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self.base_lr[key]):
                group["lr"] = base * f

    def _run_phase(self, phase: Phase, ctx: PhaseContext, batch: Any, out: dict[str, torch.Tensor], want: bool) -> torch.Tensor:
        opt = self.optimizers[phase.optimizer]
        frozen = [self.raw[n] for n in phase.freezes]
        for m in frozen:
            m.requires_grad_(False)  # no weight grads for a network this phase does not train
        try:
            terms = phase.loss(ctx, batch)
            total = torch.stack([t.float() for t in terms.values()]).sum() if terms else torch.zeros((), device=self.device)
            opt.zero_grad(set_to_none=True)
            self.fabric.backward(total * phase.every if phase.lazy else total)
        finally:
            for m in frozen:
                m.requires_grad_(True)
        key = phase.name.lower()
        if self.cfg.train.grad_clip:
            module = self.nets[phase.trains[0]] if len(phase.trains) == 1 else None
            if module is not None:
                out[f"grad_norm_{key}"] = self.fabric.clip_gradients(module, opt, max_norm=self.cfg.train.grad_clip).detach()
            else:
                out[f"grad_norm_{key}"] = torch.nn.utils.clip_grad_norm_(self._opt_params[phase.optimizer], self.cfg.train.grad_clip).detach()
        elif want:
            out[f"grad_norm_{key}"] = _grad_norm(self._opt_params[phase.optimizer])
        opt.step()
        if phase.after is not None:
            phase.after(ctx)
        prefix = phase.log_as or key
        out |= {f"{prefix}_{k}": v.detach() for k, v in terms.items()}
        out[f"{key}_total"] = total.detach()
        return total.detach()

    def train_step(self, want: bool) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """One step of every due phase; returns the logged tensors and each phase's total loss tensor."""
        clock = self.clock
        self._set_lr(clock)
        out: dict[str, torch.Tensor] = {}
        totals: dict[str, torch.Tensor] = {}
        scratch: dict[str, Any] = {}
        batch = None
        for phase in self.task.phases(clock):
            if not phase.due(self.step):
                continue
            for i in range(phase.repeat):
                if phase.draws or batch is None:
                    batch = self.source.next_batch()
                last = i == phase.repeat - 1
                ctx = PhaseContext(clock, self.nets, self.raw, self.optimizers, self.device, want_stats=want and last,
                                   repeat_index=i, scratch=scratch, autocast=self.fabric.autocast)  # fmt: skip
                totals[phase.name] = self._run_phase(phase, ctx, batch, out, want and last)
                if want and last:
                    out |= ctx.stats
        return out, totals

    # ------------------------------------------------------------------ loop

    def fit(self) -> TrainResult:
        """Train; a file that cannot be written stops the run with the path and the OS's reason."""
        try:
            return self._fit()
        except OSError as e:
            good = list_checkpoints(self.run_dir / "checkpoints")
            kept = f"the last complete checkpoint is {good[-1]}" if good else "no checkpoint was written"
            raise WriteFailed(
                f"{describe_os_error(e)}. Training stopped at step {self.step}; {kept}. "
                f"Free space or fix the permissions, then continue with --resume auto."
            ) from None

    def _fit(self) -> TrainResult:
        cfg, tc = self.cfg, self.cfg.train
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            removed = clean_temporaries(self.run_dir)
            if removed:
                print(f"removed {len(removed)} temporary file(s) a stopped run left in {self.run_dir}", file=sys.stderr)
            atomic_write_text(self.run_dir / "config.yaml", to_yaml(cfg))
            names = getattr(self.task, "class_names", None)
            if names:
                from gankit.data import write_classes_json

                write_classes_json(self.run_dir, names)
        logger = RunLogger(self.run_dir, cfg.log.tensorboard, resume_step=self.step if self.resumed_from else None) if self.is_main else None
        self.logger = logger
        pbar = None
        if self.is_main and cfg.log.progress:
            pbar = progress_bar(total=tc.max_steps, initial=self.step, desc=cfg.name, unit="step", dynamic_ncols=True)
        self._t0 = time.monotonic()
        last_log_t, last_log_step = self._t0, self.step
        status, grid, signum, evaluated_at, ckpt = "finished", None, None, -1, None
        last: dict[str, float] = {}
        kept: dict[str, torch.Tensor] = {}  # last values of phases that do not run every step (lazy)
        for hook in self.hooks:
            with self._own_rng():
                hook.on_start(self)
        try:
            with graceful_stop() as stop:
                while tc.max_steps is None or self.step < tc.max_steps:
                    want = (self.step + 1) % cfg.log.log_every == 0 or self.step == 0
                    draws = sum(p.repeat for p in self.task.phases(self.clock) if p.draws and p.due(self.step))
                    out, totals = self.train_step(want)
                    elapsed = self.elapsed()
                    over_budget = tc.max_minutes is not None and elapsed > tc.max_minutes * 60
                    # One agreement per step for everything that ends a run (a single collective under DDP).
                    bad = not bool(torch.isfinite(torch.stack(list(totals.values()))).all())
                    bad, interrupted, over_budget, elapsed = self._agree(bad, stop["signal"] is not None, over_budget, elapsed)
                    if bad:
                        self._diverged(totals)
                    self.step += 1
                    self._progress = self._measure_progress(elapsed)
                    if pbar is not None:
                        pbar.update(1)
                    kept |= out
                    if want and logger is not None:
                        now = time.monotonic()
                        rate = (self.step - last_log_step) / max(now - last_log_t, 1e-9)
                        last_log_t, last_log_step = now, self.step
                        last = self._log(logger, kept, rate * draws)
                        for hook in self.hooks:
                            with self._own_rng():
                                hook.on_log(self, self.step, last)
                        if pbar is not None:
                            pbar.set_postfix(d=f"{last.get('d_loss', math.nan):.3f}", g=f"{last.get('g_loss', math.nan):.3f}",
                                             img_s=f"{last['img_per_s']:.0f}", refresh=live(pbar))  # fmt: skip
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
                self._stopped_at = self.elapsed()
                # Decided from the step alone: every rank must make the same collective calls.
                if evaluated_at != self.step:
                    grid = self._evaluate(logger)
                ckpt = self.save()
                for hook in self.hooks:
                    with self._own_rng():
                        hook.on_end(self, status)
                if logger is not None:
                    logger.log(self.step, {"status": status}, kind="end")
        except (TrainingDiverged, OSError) as e:
            if logger is not None and isinstance(e, TrainingDiverged):
                logger.log(self.step, {"message": str(e)}, kind="error")
            notify_error(self.hooks, self, str(e))  # an MLflow run marks itself FAILED
            raise
        finally:
            if pbar is not None:
                pbar.close()
            if logger is not None:
                logger.close()  # never raises: a second error must not hide the first
        final_grid = None
        if self.is_main and grid is not None:
            final_grid = self.run_dir / "samples" / "final.png"
            data = grid.read_bytes()
            atomic_write(final_grid, lambda tmp: Path(tmp).write_bytes(data))
        return TrainResult(self.run_dir, self.step, status, ckpt, final_grid, last, signum)

    def _agree(self, bad: bool, interrupted: bool, over_budget: bool, elapsed: float) -> tuple[bool, bool, bool, float]:
        """Each flag true on any rank is true on all; the clock is the ranks' mean, so schedules agree.

        A signal reaches one rank (or reaches them at different steps) and each rank has its own
        clock; if ranks decided alone, one would stop while another waited in the next all-reduce.
        """
        if self.world_size == 1:
            return bad, interrupted, over_budget, elapsed
        t = torch.tensor([float(bad), float(interrupted), float(over_budget), elapsed], device=self.device, dtype=torch.float64)
        v = self.fabric.all_reduce(t, reduce_op="sum").tolist()
        return v[0] > 0, v[1] > 0, v[2] > 0, v[3] / self.world_size

    def _diverged(self, totals: dict[str, torch.Tensor]) -> None:
        values = ", ".join(f"{name} loss = {float(v)}" for name, v in totals.items())
        where = "" if self.world_size == 1 else f" (on rank {self.rank}'s batch or another rank's)"
        names = " / ".join(f"optim.{k}.lr" for k in self.optimizers)
        raise TrainingDiverged(
            f"training diverged at step {self.step + 1}: {values}{where}. "
            f"The last good checkpoint in {self.run_dir / 'checkpoints'} is untouched; "
            f"try a lower learning rate ({names}), train.grad_clip, or a different loss."
        )

    def _log(self, logger: RunLogger, out: dict[str, torch.Tensor], draws_per_s: float) -> dict[str, float]:
        per_draw = getattr(self.task, "g_batch_size", lambda: self.cfg.train.batch_size)()  # a growing task cuts its batch
        values = {k: float(v) for k, v in out.items() if not k.startswith("_")}
        if "g_loss" in values and "d_loss" in values:
            values["g_d_loss_ratio"] = values["g_loss"] / values["d_loss"] if values["d_loss"] != 0 else math.inf
        for key, opt in self.optimizers.items():
            values[f"lr_{key}"] = opt.param_groups[0]["lr"]
        values["img_per_s"] = draws_per_s * per_draw * self.world_size
        values["progress"] = self._progress
        logger.log(self.step, values)
        if "_real_scores" in out:
            logger.histogram("scores/real", out["_real_scores"].cpu(), self.step)
            logger.histogram("scores/fake", out["_fake_scores"].cpu(), self.step)
        return values

    def _own_rng(self) -> Any:
        """A copy of the RNG for evaluation: weights must not depend on a cold or warm evaluation cache."""
        return torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else [])

    def _evaluate(self, logger: RunLogger | None) -> Path | None:
        extra: dict[str, float] = {}
        for hook in self.hooks:
            with self._own_rng():
                extra |= hook.on_eval(self, self.step) or {}
        if not self.is_main or logger is None:
            return None
        from gankit.train.grids import write_run_grid

        with self._own_rng():  # noise inputs (StyleGAN2) draw: not from training's stream
            path = write_run_grid(self, logger)
        if extra:
            logger.log(self.step, extra, kind="eval")
        return path


def train(cfg: Config, run_dir: str | Path, resume_from: Path | None = None, hooks: list[Hook] | None = None) -> TrainResult:
    """Train ``cfg`` into ``run_dir``; ``hooks=None`` attaches the default evaluation hooks."""
    from gankit.train.eval_hook import default_hooks

    return Engine(cfg, run_dir, resume_from, default_hooks(cfg) if hooks is None else hooks).fit()
