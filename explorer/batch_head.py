"""The NSP head as a small PyTorch module on a batch: loss, its gradient in closed form, and SGD steps.

The note's module is a `Linear(hidden, 2)` classifier and `nn.CrossEntropyLoss` on `logits.view(-1, 2)`
and `labels.view(-1)`. Two variants: the textbook one puts W_NSP on the raw h_[CLS]; real BERT's applies
the pooler, tanh(W_pool h + b_pool), first. Both take their layers from the real model, copied, so a
session can train its own head while the shared cached model stays exactly as loaded.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers.models.bert.modeling_bert import BertPooler

from explorer.models import LoadedModel

VARIANTS = {
    "bert": "BERT: pooler tanh(W_pool h + b_pool), then W_NSP",
    "textbook": "textbook: W_NSP on the raw h_[CLS]",
}
REDUCTIONS = ("mean", "sum", "none")


class NspHead(nn.Module):
    """classifier(pooler(h)) and CrossEntropyLoss; `pooler` is None for the textbook variant."""

    pooler: BertPooler | None
    classifier: nn.Linear

    def __init__(self, pooler: BertPooler | None, classifier: nn.Linear):
        super().__init__()
        self.pooler = pooler
        self.classifier = classifier

    def forward(self, h_cls: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> dict[str, torch.Tensor]:
        # BertPooler reads position 0 of a sequence, so h_[CLS] goes in as a sequence of one.
        pooled = self.pooler(h_cls[:, None, :]) if self.pooler is not None else h_cls
        logits = self.classifier(pooled)
        loss = nn.CrossEntropyLoss(reduction=reduction)(logits.view(-1, 2), labels.view(-1))
        return {"h_cls": h_cls, "pooled": pooled, "logits": logits, "loss": loss}


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")
    return variant


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}: use one of {', '.join(REDUCTIONS)}")
    return reduction


def copy_head(loaded: LoadedModel, variant: str) -> NspHead:
    """A private copy of the real model's pooler (BERT variant) and W_NSP, in float32 and train mode."""
    check_variant(variant)
    pooler = copy.deepcopy(loaded.model.bert.pooler) if variant == "bert" else None
    classifier = copy.deepcopy(loaded.model.cls.seq_relationship)
    head = NspHead(pooler, classifier).float()
    for parameter in head.parameters():
        parameter.requires_grad_(True)
    return head


def reduction_scale(reduction: str, k: int) -> float:
    """d loss / d (sum of per-pair CE): 1/k for the mean; 1 for the sum and for 'none', which backward sums."""
    return 1.0 / k if check_reduction(reduction) == "mean" else 1.0


def scalar_loss(loss: torch.Tensor) -> torch.Tensor:
    """backward needs one number: reduction='none' gives one per pair, so its gradients are those of the sum."""
    return loss if loss.dim() == 0 else loss.sum()


@dataclass
class Gradients:
    """dL/dz per pair and dL/d parameters; pool_* only for the BERT variant."""

    d_logits: np.ndarray  # [k, 2]
    d_weight: np.ndarray  # [2, H]: dL/dW_NSP
    d_bias: np.ndarray  # [2]: dL/db_NSP
    d_pool_weight: np.ndarray | None = None  # [H, H]
    d_pool_bias: np.ndarray | None = None  # [H]

    def max_difference(self, other: Gradients) -> float:
        pairs = [(self.d_logits, other.d_logits), (self.d_weight, other.d_weight), (self.d_bias, other.d_bias)]
        pairs += [
            (mine, theirs)
            for mine, theirs in ((self.d_pool_weight, other.d_pool_weight), (self.d_pool_bias, other.d_pool_bias))
            if mine is not None and theirs is not None
        ]
        return max(float(np.abs(a - b).max()) for a, b in pairs)


def _numpy(tensor: torch.Tensor | None) -> np.ndarray:
    if tensor is None:  # a .grad that backward did not fill
        raise ValueError("no gradient was computed for this tensor")
    return tensor.detach().double().cpu().numpy()


def closed_form_gradients(head: NspHead, h_cls: torch.Tensor, labels: torch.Tensor, reduction: str) -> Gradients:
    """The gradients by hand, in float64: dL/dz = (softmax(z) - onehot(t)) * scale, then the chain rule."""
    h = _numpy(h_cls)
    t = labels.cpu().numpy()
    pooled = h
    if head.pooler is not None:
        w_pool, b_pool = _numpy(head.pooler.dense.weight), _numpy(head.pooler.dense.bias)
        pooled = np.tanh(h @ w_pool.T + b_pool)
    w, b = _numpy(head.classifier.weight), _numpy(head.classifier.bias)
    z = pooled @ w.T + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(2)[t]
    d_logits = (p - onehot) * reduction_scale(reduction, len(t))
    grads = Gradients(d_logits, d_logits.T @ pooled, d_logits.sum(axis=0))
    if head.pooler is not None:
        d_pre = (d_logits @ w) * (1.0 - pooled**2)  # tanh' = 1 - tanh^2
        grads.d_pool_weight = d_pre.T @ h
        grads.d_pool_bias = d_pre.sum(axis=0)
    return grads


def autograd_gradients(head: NspHead, h_cls: torch.Tensor, labels: torch.Tensor, reduction: str) -> Gradients:
    """The same gradients from loss.backward() on the session's head (its .grad fields are reset first)."""
    head.zero_grad(set_to_none=True)
    with torch.enable_grad():
        out = head(h_cls, labels, reduction)
        out["logits"].retain_grad()
        scalar_loss(out["loss"]).backward()
    grads = Gradients(
        _numpy(out["logits"].grad), _numpy(head.classifier.weight.grad), _numpy(head.classifier.bias.grad)
    )
    if head.pooler is not None:
        grads.d_pool_weight = _numpy(head.pooler.dense.weight.grad)
        grads.d_pool_bias = _numpy(head.pooler.dense.bias.grad)
    head.zero_grad(set_to_none=True)
    return grads


MAX_SGD_LR = 100.0  # the page offers up to 5; far above it a step only overflows the head's weights


def sgd_step(head: NspHead, h_cls: torch.Tensor, labels: torch.Tensor, lr: float, reduction: str, pooler: bool) -> None:
    """One plain SGD step, W <- W - lr dL/dW, on W_NSP and b_NSP (and the pooler when asked)."""
    if not lr > 0:
        raise ValueError("the learning rate must be greater than 0")
    params = list(head.classifier.parameters())
    if pooler and head.pooler is not None:
        params += list(head.pooler.parameters())
    optimizer = torch.optim.SGD(params, lr=lr)
    head.zero_grad(set_to_none=True)
    with torch.enable_grad():
        scalar_loss(head(h_cls, labels, reduction)["loss"]).backward()
    optimizer.step()
    head.zero_grad(set_to_none=True)
