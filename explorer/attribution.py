"""Which tokens push p(IsNext) up or down: integrated gradients and word occlusion.

Both explain f = log p(IsNext) of one pair.
- Integrated gradients (Sundararajan et al. 2017) with Captum's LayerIntegratedGradients on the word
  embeddings. The baseline keeps [CLS], the two [SEP], every position and every segment id and replaces
  each token of A and B by [PAD], so the attributions share out f(pair) - f(baseline) among the words
  alone. Completeness says they sum to exactly that difference; the gap left is the error of the
  path integral's quadrature, reported with the result.
- Occlusion: delete each word (all its WordPiece pieces) in turn and re-score every variant in one batch.

Captum hooks the module it attributes to, so it runs on a private twin of the model (explorer.attention):
the shared cached model is never hooked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.attention import model_twin
from explorer.encoding import PairEncoding
from explorer.labels import IS_NEXT
from explorer.models import LoadedModel
from explorer.nsp import log_softmax, nsp_steps, pad_batch
from explorer.pair_words import Word, pair_words, without_words

DEFAULT_IG_STEPS = 32
TOKENS_PER_BATCH = 4096  # interpolation steps x tokens run through the model at once (bounds memory)


@dataclass
class IntegratedGradients:
    encoding: PairEncoding
    token_scores: np.ndarray  # [T]: attribution of each token to log p(IsNext), summed over the hidden size
    f_pair: float  # log p(IsNext) for the pair
    f_baseline: float  # log p(IsNext) for the baseline ([PAD] in place of A and B)
    steps: int

    @property
    def total(self) -> float:
        return float(self.token_scores.sum())

    @property
    def gap(self) -> float:
        """f(pair) - f(baseline): the change the attributions share out."""
        return self.f_pair - self.f_baseline

    @property
    def completeness_error(self) -> float:
        """|sum of attributions - (f(pair) - f(baseline))|."""
        return abs(self.total - self.gap)

    @property
    def relative_completeness_error(self) -> float:
        """The completeness error as a share of |f(pair) - f(baseline)| (0 when there is no change to share)."""
        return self.completeness_error / abs(self.gap) if self.gap else 0.0


def pad_baseline(encoding: PairEncoding, pad_id: int) -> list[int]:
    """The pair's ids with every token of A and B replaced by [PAD]; [CLS] and [SEP] stay."""
    return [pad_id if role != "special" else i for i, role in zip(encoding.input_ids, encoding.roles)]


def _log_p_is_next(model: torch.nn.Module):
    def forward(input_ids: torch.Tensor, token_type_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits = model(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask).logits
        return torch.log_softmax(logits.float(), dim=-1)[:, IS_NEXT]

    return forward


def integrated_gradients(
    loaded: LoadedModel, encoding: PairEncoding, steps: int = DEFAULT_IG_STEPS, internal_batch_size: int | None = None
) -> IntegratedGradients:
    """IG of log p(IsNext) on the word embeddings; the steps run in batches of TOKENS_PER_BATCH tokens."""
    from captum.attr import LayerIntegratedGradients  # imported late: it loads matplotlib

    twin = model_twin(loaded)
    forward = _log_p_is_next(twin)
    inputs = encoding.tensors(loaded.device)
    baseline = torch.tensor([pad_baseline(encoding, loaded.tokenizer.pad_token_id)], device=loaded.device)
    if internal_batch_size is None:
        internal_batch_size = max(1, min(steps, TOKENS_PER_BATCH // len(encoding.input_ids)))
    ig = LayerIntegratedGradients(forward, twin.bert.embeddings.word_embeddings)
    attributions = ig.attribute(
        inputs["input_ids"],
        baselines=baseline,
        additional_forward_args=(inputs["token_type_ids"], inputs["attention_mask"]),
        n_steps=steps,
        internal_batch_size=internal_batch_size,
    )
    with torch.inference_mode():
        both = torch.cat([inputs["input_ids"], baseline])
        f = forward(both, inputs["token_type_ids"].repeat(2, 1), inputs["attention_mask"].repeat(2, 1))
    return IntegratedGradients(
        encoding=encoding,
        token_scores=attributions[0].sum(dim=-1).double().cpu().numpy(),
        f_pair=float(f[0]),
        f_baseline=float(f[1]),
        steps=int(steps),
    )


@dataclass
class Occlusion:
    encoding: PairEncoding
    words: list[Word]
    p_pair: float  # p(IsNext) of the pair as typed
    p_without: np.ndarray  # [words]: p(IsNext) with that word deleted

    @property
    def word_scores(self) -> np.ndarray:
        """p(pair) - p(without the word): positive when the word pushes p(IsNext) up."""
        return self.p_pair - self.p_without


def p_is_next_of(loaded: LoadedModel, variants: list[tuple[list[int], list[int]]], batch_size: int = 64) -> np.ndarray:
    """p(IsNext) for encoded variants (input_ids, token_type_ids), batched and padded."""
    out = []
    for start in range(0, len(variants), batch_size):
        chunk = variants[start : start + batch_size]
        inputs = pad_batch([ids for ids, _ in chunk], [seg for _, seg in chunk], loaded.tokenizer.pad_token_id)
        logits = nsp_steps(loaded.model, {k: v.to(loaded.device) for k, v in inputs.items()})["logits"]
        out.append(np.exp(log_softmax(logits.float().cpu().numpy())[:, IS_NEXT]))
    return np.concatenate(out) if out else np.zeros(0)


def occlusion(loaded: LoadedModel, encoding: PairEncoding) -> Occlusion:
    """Delete each word of A and B in turn; the pair itself is scored in the same batch."""
    words = pair_words(encoding)
    variants = [(encoding.input_ids, encoding.token_type_ids)]
    variants += [without_words(encoding, words, {n}) for n in range(len(words))]
    p = p_is_next_of(loaded, variants)
    return Occlusion(encoding=encoding, words=words, p_pair=float(p[0]), p_without=p[1:])
