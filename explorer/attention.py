"""Where [CLS] looks: one forward pass with the attention weights of every layer and head.

The weights come from a private *twin* of the loaded model: the same parameter tensors (shared, not
copied) under a copied config that asks for eager attention, the only implementation that returns
the softmax weights. The cached model that every browser session shares is never changed, so a
student scoring pairs at the same moment is unaffected.
"""

from __future__ import annotations

import copy
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.encoding import DEFAULT_MAX_LENGTH, PairEncoding, encode_pair
from explorer.models import LoadedModel

if TYPE_CHECKING:
    from transformers import BertForNextSentencePrediction

# The columns of the [CLS] share table: where each head sends [CLS]'s attention.
SHARE_PARTS = ("[CLS]", "A", "[SEP]", "B")


def model_twin(loaded: LoadedModel, attn_implementation: str | None = None) -> BertForNextSentencePrediction:
    """A new module tree over the same parameters and buffers; its config is its own.

    Cheap (no tensor is copied) and private to the caller, so hooks (Captum's) or a different attention
    implementation on it never reach other sessions.
    """
    model = loaded.model
    shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
    twin = copy.deepcopy(model, memo=shared)
    if attn_implementation is not None:
        twin.config._attn_implementation = attn_implementation
    return twin.eval()


_EAGER_TWINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_EAGER_LOCK = threading.Lock()


def eager_twin(loaded: LoadedModel) -> BertForNextSentencePrediction:
    """The eager twin of a loaded model, built once and kept while the model lives.

    Sharing it is safe: nothing hooks it, and a forward pass changes no state.
    """
    with _EAGER_LOCK:
        twin = _EAGER_TWINS.get(loaded.model)
        if twin is None:
            twin = _EAGER_TWINS[loaded.model] = model_twin(loaded, "eager")
    return twin


@dataclass
class AttentionResult:
    encoding: PairEncoding
    attentions: np.ndarray  # [layers, heads, T, T]: row i = how token i spreads its attention
    logits: np.ndarray  # [2], from the same eager pass

    @property
    def cls_shares(self) -> np.ndarray:
        """[layers, heads, 4]: the share of [CLS]'s attention on [CLS], A, the two [SEP], B (SHARE_PARTS)."""
        return cls_shares(self.attentions, self.encoding)

    @property
    def rollout(self) -> np.ndarray:
        """[T]: attention rollout from [CLS] through all layers (Abnar & Zuidema 2020)."""
        return attention_rollout(self.attentions)[0]


def part_masks(encoding: PairEncoding) -> np.ndarray:
    """[4, T] one-hot masks of the SHARE_PARTS."""
    n = len(encoding.tokens)
    masks = np.zeros((len(SHARE_PARTS), n))
    masks[0, 0] = 1.0
    for i, role in enumerate(encoding.roles):
        if role == "A":
            masks[1, i] = 1.0
        elif role == "B":
            masks[3, i] = 1.0
        elif i > 0:
            masks[2, i] = 1.0
    return masks


def cls_shares(attentions: np.ndarray, encoding: PairEncoding) -> np.ndarray:
    return attentions[:, :, 0, :] @ part_masks(encoding).T


def attention_rollout(attentions: np.ndarray) -> np.ndarray:
    """[T, T]: the heads' mean per layer plus the identity (the residual path), rows renormalised,
    multiplied from the first layer up. Row 0 says how much of each input token reaches [CLS]."""
    n = attentions.shape[-1]
    rollout = np.eye(n)
    for layer in attentions:
        mixed = 0.5 * layer.mean(axis=0) + 0.5 * np.eye(n)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


@torch.inference_mode()
def attention_pass(loaded: LoadedModel, a: str, b: str, max_length: int = DEFAULT_MAX_LENGTH) -> AttentionResult:
    """Encode the pair and run the eager twin once with output_attentions."""
    encoding = encode_pair(loaded.tokenizer, a, b, max_length, loaded.max_positions)
    out = eager_twin(loaded)(**encoding.tensors(loaded.device), output_attentions=True)
    attentions = torch.stack([layer[0] for layer in out.attentions]).double().cpu().numpy()
    return AttentionResult(encoding=encoding, attentions=attentions, logits=out.logits[0].float().cpu().numpy())
