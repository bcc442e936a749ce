"""The NSP head, step by step: h_[CLS] -> pooler tanh(W h + b) -> 2 logits -> softmax -> cross-entropy.

Every intermediate value is read from the real transformers modules (model.bert, model.bert.pooler,
model.cls), so what the page shows is what BertForNextSentencePrediction computes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from explorer.device import threads_for_pass
from explorer.encoding import DEFAULT_MAX_LENGTH, PairEncoding, PairInputError, encode_pair
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.models import LoadedModel


@dataclass
class NspResult:
    encoding: PairEncoding
    h_cls: np.ndarray  # final hidden state of [CLS], shape [H]
    pooled: np.ndarray  # tanh(W_pool h_cls + b_pool), shape [H]
    logits: np.ndarray  # W_NSP pooled + b_NSP, shape [2]: [IsNext, NotNext]
    probabilities: np.ndarray  # softmax(logits)
    textbook_logits: np.ndarray  # W_NSP h_cls + b_NSP: the textbook form, which skips the pooler
    label: int | None
    loss: float | None  # -log p(label) when a label is given
    device: str
    seconds: float  # wall time of the model forward pass

    @property
    def p_is_next(self) -> float:
        return float(self.probabilities[IS_NEXT])

    @property
    def p_not_next(self) -> float:
        return float(self.probabilities[NOT_NEXT])

    @property
    def textbook_probabilities(self) -> np.ndarray:
        return softmax(self.textbook_logits)

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.logits))


def head_bias_gap(model) -> float:
    """b_NotNext - b_IsNext of the NSP head: the part of the logit gap that does not depend on the pair."""
    bias = model.cls.seq_relationship.bias.detach().float().cpu()
    return float(bias[1] - bias[0])


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, stably in float64 (for one pair [2] or a batch [n, 2])."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(logits))


def cross_entropy(logits: np.ndarray, label: int) -> float:
    """-log softmax(logits)[label] for one pair."""
    return float(-log_softmax(logits)[label])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def nsp_steps(model, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Run the model once and return each step of the NSP head for a batch (all tensors [batch, ...]).

    A short CPU pass runs on one intra-op thread (threads_for_pass), a batch of many pairs on every core.
    """
    ids = inputs["input_ids"]
    with threads_for_pass(ids.numel(), ids.device):
        outputs = model.bert(**inputs)
    h_cls = outputs.last_hidden_state[:, 0]
    pooled = outputs.pooler_output  # model.bert.pooler applied to h_cls
    logits = model.cls(pooled)
    return {"h_cls": h_cls, "pooled": pooled, "logits": logits}


def score_pair(
    loaded: LoadedModel, a: str, b: str, label: int | None = None, max_length: int = DEFAULT_MAX_LENGTH
) -> NspResult:
    """Encode a pair, run the NSP head and compute probabilities and (given a label) the loss."""
    if label not in (None, IS_NEXT, NOT_NEXT):
        raise ValueError("label must be 0 (IsNext), 1 (NotNext) or None")
    encoding = encode_pair(loaded.tokenizer, a, b, max_length, loaded.max_positions)
    inputs = encoding.tensors(loaded.device)
    _sync(loaded.device)
    start = time.perf_counter()
    steps = nsp_steps(loaded.model, inputs)
    _sync(loaded.device)
    seconds = time.perf_counter() - start
    head = loaded.model.cls.seq_relationship
    with torch.inference_mode():
        textbook = head(steps["h_cls"])
    logits = steps["logits"][0].float().cpu().numpy()
    return NspResult(
        encoding=encoding,
        h_cls=steps["h_cls"][0].float().cpu().numpy(),
        pooled=steps["pooled"][0].float().cpu().numpy(),
        logits=logits,
        probabilities=softmax(logits),
        textbook_logits=textbook[0].float().cpu().numpy(),
        label=label,
        loss=None if label is None else cross_entropy(logits, label),
        device=str(loaded.device),
        seconds=seconds,
    )


MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


def batch_logits(model, batches: Iterable[dict[str, torch.Tensor]], device: torch.device) -> np.ndarray:
    """NSP logits [n, 2] of padded input batches, from the real modules (nsp_steps); no batch: shape (0, 2)."""
    out = [
        nsp_steps(model, {k: batch[k].to(device) for k in MODEL_INPUTS})["logits"].float().cpu().numpy()
        for batch in batches
    ]
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.float32)


def score_pairs(
    loaded: LoadedModel,
    pairs: list[tuple[str, str]],
    max_length: int = DEFAULT_MAX_LENGTH,
    batch_size: int = 32,
) -> np.ndarray:
    """Logits [n, 2] for many pairs, batched and padded (padding: id 0, mask 0, segment 0).

    A pair that cannot be encoded raises PairInputError naming it by its number (from 1) in `pairs`."""
    tokenizer = loaded.tokenizer

    def encoded(number: int, a: str, b: str) -> PairEncoding:
        try:
            return encode_pair(tokenizer, a, b, max_length, loaded.max_positions)
        except PairInputError as err:
            raise PairInputError(f"Pair {number}: {err}") from err

    def batch(start: int) -> dict[str, torch.Tensor]:
        chunk = pairs[start : start + batch_size]
        encodings = [encoded(start + i + 1, a, b) for i, (a, b) in enumerate(chunk)]
        return pad_batch(
            [e.input_ids for e in encodings], [e.token_type_ids for e in encodings], tokenizer.pad_token_id
        )

    return batch_logits(loaded.model, (batch(start) for start in range(0, len(pairs), batch_size)), loaded.device)


def pad_batch(input_ids: list[list[int]], token_type_ids: list[list[int]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Right-pad encoded pairs into model inputs."""
    width = max(len(ids) for ids in input_ids)
    n = len(input_ids)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    segments = torch.zeros((n, width), dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for row, (tokens, types) in enumerate(zip(input_ids, token_type_ids)):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        segments[row, : len(types)] = torch.tensor(types)
        mask[row, : len(tokens)] = 1
    return {"input_ids": ids, "token_type_ids": segments, "attention_mask": mask}
