"""One student's batch lesson: a batch, its own copy of the NSP head, the loss, the gradient and SGD steps.

The encoder runs once per batch (its h_[CLS] are kept); everything after it, the part a step changes, is
the session's copied head. A second batch, drawn separately, is scored with the same head to show whether
the steps generalised or only fitted the batch they were taken on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from explorer.batch import EncodedBatch, encode_batch, encoder_states
from explorer.batch_head import (
    Gradients,
    autograd_gradients,
    check_reduction,
    closed_form_gradients,
    copy_head,
    sgd_step,
)
from explorer.encoding import DEFAULT_MAX_LENGTH
from explorer.evaluate import LabelledPair
from explorer.labels import LABEL_NAMES
from explorer.models import LoadedModel

MAX_STEPS = 200  # per batch, so a held-down button cannot grow the history without bound


@dataclass
class CodeLine:
    code: str  # a line of the module, as shown
    name: str  # what it produced
    value: np.ndarray  # the live tensor, for this batch


@dataclass
class BatchReport:
    """The batch scored by the session's head under one reduction, with its gradients."""

    variant: str
    reduction: str
    pairs: list[LabelledPair]
    h_cls: np.ndarray  # [k, H]
    pooled: np.ndarray  # [k, H]: what W_NSP multiplies (h_cls itself in the textbook variant)
    logits: np.ndarray  # [k, 2]
    probabilities: np.ndarray  # [k, 2]
    labels: np.ndarray  # [k]
    cross_entropy: np.ndarray  # [k]: -log p(true label) per pair
    loss: np.ndarray  # what CrossEntropyLoss(reduction=...) returned: a scalar, or [k] for 'none'
    gradients: Gradients  # in closed form
    autograd_difference: float  # largest |closed form - autograd| over every gradient shown

    @property
    def k(self) -> int:
        return len(self.labels)

    @property
    def p_true(self) -> np.ndarray:
        return self.probabilities[np.arange(self.k), self.labels]

    @property
    def mean_loss(self) -> float:
        return float(self.cross_entropy.mean())

    @property
    def total_loss(self) -> float:
        return float(self.cross_entropy.sum())

    @property
    def accuracy(self) -> float:
        """Share of pairs whose more probable label is the true one."""
        return float((self.probabilities.argmax(axis=1) == self.labels).mean())

    def code_lines(self) -> list[CodeLine]:
        first = "pooled = self.pooler(h)  # tanh(W_pool h + b_pool)" if self.variant == "bert" else "pooled = h"
        reduce = f'nn.CrossEntropyLoss(reduction="{self.reduction}")'
        return [
            CodeLine("h = bert(**batch).last_hidden_state[:, 0]  # h_[CLS]", "h", self.h_cls),
            CodeLine(first, "pooled", self.pooled),
            CodeLine(
                "logits = self.classifier(pooled)  # nn.Linear(H, 2): W_NSP pooled + b_NSP", "logits", self.logits
            ),
            CodeLine(f"loss = {reduce}(logits.view(-1, 2), labels.view(-1))", "loss", self.loss),
            CodeLine("loss.backward()  # classifier.weight.grad = dL/dW_NSP", "dL/dW_NSP", self.gradients.d_weight),
        ]

    def to_dict(self) -> dict:
        rows = [
            {
                "a": p.a,
                "b": p.b,
                "label": LABEL_NAMES[p.label],
                "logits": [float(z) for z in self.logits[i]],
                "p_true": float(self.p_true[i]),
                "cross_entropy": float(self.cross_entropy[i]),
                "dL_dz": [float(g) for g in self.gradients.d_logits[i]],
            }
            for i, p in enumerate(self.pairs)
        ]
        loss = self.loss.tolist() if self.loss.ndim else float(self.loss)
        return {
            "variant": self.variant,
            "reduction": self.reduction,
            "k": self.k,
            "pairs": rows,
            "loss": loss,
            "loss_sum": float(self.cross_entropy.sum()),
            "loss_mean": float(self.cross_entropy.mean()),
            "dL_db_NSP": [float(g) for g in self.gradients.d_bias],
            "dL_dW_NSP_norm": float(np.linalg.norm(self.gradients.d_weight)),
            "autograd_max_difference": self.autograd_difference,
        }


@dataclass
class StepRecord:
    step: int
    lr: float | None  # None for the starting point
    loss: float  # mean CE over the batch (comparable whatever the reduction)
    cross_entropy: np.ndarray  # [k]
    unseen_loss: float | None = None  # mean CE over the second batch, once it was scored


@dataclass
class BatchLesson:
    loaded: LoadedModel
    batch: EncodedBatch
    variant: str
    unseen_pairs: Callable[[], list[LabelledPair]] | None = None  # drawn only when the first step is taken
    max_length: int = DEFAULT_MAX_LENGTH
    history: list[StepRecord] = field(default_factory=list)
    version: int = 0  # bumped whenever the head changes, so a caller may keep a report until then

    def __post_init__(self) -> None:
        self.h_cls = encoder_states(self.loaded, self.batch)
        self.head = copy_head(self.loaded, self.variant)
        self._unseen: tuple[torch.Tensor, torch.Tensor] | None = None
        self.history = [self._record(0, None)]

    def per_pair_ce(self, h_cls: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return self.head(h_cls, labels, "none")["loss"].double().cpu().numpy()

    def report(self, reduction: str = "mean") -> BatchReport:
        check_reduction(reduction)
        labels = self.batch.labels
        with torch.no_grad():
            out = self.head(self.h_cls, labels, reduction)
        closed = closed_form_gradients(self.head, self.h_cls, labels, reduction)
        checked = autograd_gradients(self.head, self.h_cls, labels, reduction)
        logits = out["logits"].double().cpu().numpy()
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return BatchReport(
            variant=self.variant,
            reduction=reduction,
            pairs=self.batch.pairs,
            h_cls=self.h_cls.double().cpu().numpy(),
            pooled=out["pooled"].double().cpu().numpy(),
            logits=logits,
            probabilities=probabilities,
            labels=labels.cpu().numpy(),
            cross_entropy=self.per_pair_ce(self.h_cls, labels),
            loss=out["loss"].double().cpu().numpy(),
            gradients=closed,
            autograd_difference=closed.max_difference(checked),
        )

    def unseen(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """h_[CLS] and labels of the second batch, encoded on first use."""
        if self._unseen is None and self.unseen_pairs is not None:
            batch = encode_batch(self.loaded, self.unseen_pairs(), self.max_length)
            self._unseen = (encoder_states(self.loaded, batch), batch.labels)
        return self._unseen

    def _record(self, step: int, lr: float | None, with_unseen: bool = False) -> StepRecord:
        ce = self.per_pair_ce(self.h_cls, self.batch.labels)
        unseen = self.unseen() if with_unseen else None
        unseen_loss = float(self.per_pair_ce(*unseen).mean()) if unseen is not None else None
        return StepRecord(step, lr, float(ce.mean()), ce, unseen_loss)

    def step(self, lr: float, reduction: str = "mean", pooler: bool = False) -> StepRecord:
        """One SGD step on the session's head; the first one also scores the second batch before stepping."""
        if len(self.history) > MAX_STEPS:
            raise ValueError(f"At most {MAX_STEPS} steps per batch: press Reset to start again.")
        if self.history[0].unseen_loss is None and self.unseen_pairs is not None and len(self.history) == 1:
            self.history[0] = self._record(0, None, with_unseen=True)
        sgd_step(self.head, self.h_cls, self.batch.labels, lr, reduction, pooler)
        self.version += 1
        record = self._record(len(self.history), lr, with_unseen=self.unseen_pairs is not None)
        self.history.append(record)
        return record

    def reset(self) -> None:
        """Back to the real model's head, as loaded; the batch and its h_[CLS] stay."""
        self.head = copy_head(self.loaded, self.variant)
        self.version += 1
        self.history = [self._record(0, None, with_unseen=self._unseen is not None)]

    def changes(self) -> np.ndarray:
        """Per pair: CE now minus CE before any step (negative = the pair got better)."""
        return self.history[-1].cross_entropy - self.history[0].cross_entropy

    def pairs_worse(self) -> int:
        """Pairs whose CE the steps so far raised: the batch's average gradient pulled them along."""
        return int((self.changes() > 0).sum())

    def generalised(self) -> bool | None:
        """Whether the steps lowered the mean CE of the second batch they never saw; None until it was scored."""
        before, now = self.history[0].unseen_loss, self.history[-1].unseen_loss
        return None if before is None or now is None else now < before


def start_lesson(
    loaded: LoadedModel,
    pairs: list[LabelledPair],
    variant: str = "bert",
    unseen_pairs: Callable[[], list[LabelledPair]] | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> BatchLesson:
    """Encode the batch, run the shared encoder once and copy the head for this session."""
    batch = encode_batch(loaded, pairs, max_length)
    return BatchLesson(loaded, batch, variant, unseen_pairs, max_length)
