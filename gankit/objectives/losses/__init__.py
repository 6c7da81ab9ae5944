"""One file per adversarial loss; each registers itself in ``LOSSES``."""
