"""The input embedding: word (token) + position + segment embedding = the sum that enters LayerNorm.

The three tables are read from model.bert.embeddings, so the decomposition is the model's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.encoding import SEGMENT_A, SEGMENT_B, PairEncoding


@dataclass
class EmbeddingSum:
    token: np.ndarray  # [L, H] word embedding of each token id
    position: np.ndarray  # [L, H] position embedding of positions 0..L-1
    segment: np.ndarray  # [L, H] E_A or E_B depending on the token's segment id
    after_layernorm: np.ndarray  # [L, H] LayerNorm(sum), what the first encoder layer receives (eval mode)

    @property
    def total(self) -> np.ndarray:
        return self.token + self.position + self.segment

    def norms(self) -> dict[str, np.ndarray]:
        """L2 norm per token of each part, to compare their sizes."""
        parts = {"token": self.token, "position": self.position, "segment": self.segment, "sum": self.total}
        return {name: np.linalg.norm(part, axis=1) for name, part in parts.items()}


@dataclass
class SegmentVectors:
    e_a: np.ndarray
    e_b: np.ndarray

    @property
    def norm_a(self) -> float:
        return float(np.linalg.norm(self.e_a))

    @property
    def norm_b(self) -> float:
        return float(np.linalg.norm(self.e_b))

    @property
    def cosine(self) -> float:
        return float(self.e_a @ self.e_b / (self.norm_a * self.norm_b))

    @property
    def distance(self) -> float:
        return float(np.linalg.norm(self.e_a - self.e_b))


def _table(module: torch.nn.Embedding) -> torch.Tensor:
    return module.weight.detach()


def segment_vectors(model) -> SegmentVectors:
    table = _table(model.bert.embeddings.token_type_embeddings).float().cpu().numpy()
    return SegmentVectors(e_a=table[SEGMENT_A], e_b=table[SEGMENT_B])


@torch.inference_mode()
def embedding_sum(model, encoding: PairEncoding) -> EmbeddingSum:
    emb = model.bert.embeddings
    device = emb.word_embeddings.weight.device
    ids = torch.tensor(encoding.input_ids, device=device)
    positions = torch.tensor(encoding.positions, device=device)
    segments = torch.tensor(encoding.token_type_ids, device=device)
    token = emb.word_embeddings(ids)
    position = emb.position_embeddings(positions)
    segment = emb.token_type_embeddings(segments)
    after = emb.LayerNorm(token + position + segment)
    as_np = lambda t: t.float().cpu().numpy()  # noqa: E731
    return EmbeddingSum(as_np(token), as_np(position), as_np(segment), as_np(after))
