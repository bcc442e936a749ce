"""A sampled pair and the segments it is built from: runs of whole sentences of one document.

Text of a pair: the original text of the kept tokens. Truncation works on WordPiece ids; the text is cut
at the character offsets of the first and last kept token, so casing and punctuation survive and
re-encoding the text gives the same ids (except where a cut falls inside a word: a kept "##ing"
re-encodes as "ing").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from explorer.encoding import SPECIAL_TOKENS_IN_PAIR
from explorer.sampling.tokens import TokenTable


class SamplingError(ValueError):
    """The corpus or the recipe cannot give the pairs asked for; the message says why."""


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    label: int  # 0 IsNext (or in order, for SOP), 1 NotNext (or swapped)
    doc_a: int
    doc_b: int
    mode: str
    a_ids: tuple[int, ...]  # WordPiece ids without special tokens, after truncation
    b_ids: tuple[int, ...]
    short: bool = False  # the short target length was drawn
    a_span: tuple[int, int] = (0, 0)  # source sentences [start, stop) in doc_a, before truncation
    b_span: tuple[int, int] = (0, 0)
    a_cut: int = 0  # tokens truncation removed from A
    b_cut: int = 0

    @property
    def n_tokens(self) -> int:
        return len(self.a_ids) + len(self.b_ids) + SPECIAL_TOKENS_IN_PAIR

    def to_dict(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "label": self.label,
            "doc_a": self.doc_a,
            "doc_b": self.doc_b,
            "mode": self.mode,
            "a_tokens": len(self.a_ids),
            "b_tokens": len(self.b_ids),
            "short": self.short,
            "a_span": list(self.a_span),
            "b_span": list(self.b_span),
            "a_cut": self.a_cut,
            "b_cut": self.b_cut,
        }


class Segment:
    """Sentences [start, stop) of one document, and how many tokens truncation cut at each end."""

    __slots__ = ("cut_back", "cut_front", "doc", "n_tokens", "start", "stop")

    def __init__(self, doc: int, start: int, stop: int, n_tokens: int):
        self.doc, self.start, self.stop, self.n_tokens = doc, start, stop, n_tokens
        self.cut_front = self.cut_back = 0

    @property
    def kept(self) -> int:
        return self.n_tokens - self.cut_front - self.cut_back


def truncate_seq_pair(a: Segment, b: Segment, max_tokens: int, rng: random.Random) -> None:
    """BERT's truncate_seq_pair: trim the longer side (B on a tie) from the front or back at random."""
    while a.kept + b.kept > max_tokens:
        longer = a if a.kept > b.kept else b
        if rng.random() < 0.5:
            longer.cut_front += 1
        else:
            longer.cut_back += 1


def segment_ids(table: TokenTable, seg: Segment) -> tuple[int, ...]:
    base = table.doc_starts[seg.doc]
    ids: np.ndarray = np.concatenate(table.ids[base + seg.start : base + seg.stop])
    return tuple(ids[seg.cut_front : len(ids) - seg.cut_back].tolist())


def segment_text(table: TokenTable, seg: Segment) -> str:
    """The original text of the kept tokens: whole sentences, cut at token offsets at the ends."""
    base = table.doc_starts[seg.doc]
    first_token, last_token = seg.cut_front, seg.n_tokens - seg.cut_back - 1
    parts, seen = [], 0
    for g in range(base + seg.start, base + seg.stop):
        n = table.lengths[g]
        lo, hi = max(first_token - seen, 0), min(last_token - seen, n - 1)
        if lo <= hi:  # this sentence keeps tokens lo..hi
            sentence, offsets = table.sentences[g], table.offsets[g]
            begin = 0 if lo == 0 else int(offsets[lo][0])
            end = len(sentence) if hi == n - 1 else int(offsets[hi][1])
            parts.append(sentence[begin:end].strip())
        seen += n
    return " ".join(parts)


def pair_of_segments(table: TokenTable, a: Segment, b: Segment, label: int, short: bool, mode: str) -> Pair:
    """The Pair of two segments already truncated: their kept text and ids, and where they came from."""
    return Pair(
        a=segment_text(table, a),
        b=segment_text(table, b),
        label=label,
        doc_a=a.doc,
        doc_b=b.doc,
        mode=mode,
        a_ids=segment_ids(table, a),
        b_ids=segment_ids(table, b),
        short=short,
        a_span=(a.start, a.stop),
        b_span=(b.start, b.stop),
        a_cut=a.cut_front + a.cut_back,
        b_cut=b.cut_front + b.cut_back,
    )
