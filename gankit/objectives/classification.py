"""Auxiliary-class losses (ACGAN, Odena et al. 2017; TAC-GAN, Gong et al. 2019) as pure functions."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def class_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of D's class head against the labels the samples carry (real) or were asked for (fake)."""
    return F.cross_entropy(logits.float(), labels)


def acgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ACGAN's L_C for D: classify real and fake samples alike."""
    return class_loss(real_logits, labels) + class_loss(fake_logits, labels)


def tac_g_loss(fake_logits: torch.Tensor, twin_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """TAC-GAN's G term: be classified right by the real-data classifier and wrong by the twin (fakes)."""
    return class_loss(fake_logits, labels) - class_loss(twin_logits, labels)
