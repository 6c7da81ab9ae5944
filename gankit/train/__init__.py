"""The training loop, checkpoints and logging. Entry point: :func:`gankit.train.engine.train`."""
