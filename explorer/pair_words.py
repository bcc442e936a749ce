"""Words of a pair, re-joined from WordPiece pieces: what a student reads, and what occlusion removes.

A piece that starts with '##' continues the word before it; every other piece of A or B starts a new
word (BERT's basic tokenizer already split punctuation off, so a comma is a word of its own).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.encoding import PairEncoding


@dataclass(frozen=True)
class Word:
    text: str  # the pieces joined, '##' removed
    role: str  # "A" or "B"
    token_indices: tuple[int, ...]  # positions of its pieces in [CLS] A [SEP] B [SEP]


def pair_words(encoding: PairEncoding) -> list[Word]:
    """The words of A, then of B, in order; special tokens belong to no word."""
    groups: list[tuple[str, list[int]]] = []
    for index, (token, role) in enumerate(zip(encoding.tokens, encoding.roles)):
        if role == "special":
            continue
        continues = token.startswith("##") and groups and groups[-1][0] == role and groups[-1][1][-1] == index - 1
        if continues:
            groups[-1][1].append(index)
        else:
            groups.append((role, [index]))
    return [Word(_join(encoding.tokens, idx), role, tuple(idx)) for role, idx in groups]


def _join(tokens: list[str], indices: list[int]) -> str:
    return "".join(tokens[i].removeprefix("##") for i in indices)


def word_scores(words: list[Word], token_scores: np.ndarray) -> np.ndarray:
    """A word's score is the sum of its pieces' scores (attributions add up, so the sum keeps completeness)."""
    return np.array([float(np.sum(token_scores[list(w.token_indices)])) for w in words])


def without_words(encoding: PairEncoding, words: list[Word], removed: set[int]) -> tuple[list[int], list[int]]:
    """input_ids and token_type_ids with the pieces of the words numbered in `removed` deleted."""
    dropped = {i for n in removed for i in words[n].token_indices}
    keep = [i for i in range(len(encoding.input_ids)) if i not in dropped]
    return [encoding.input_ids[i] for i in keep], [encoding.token_type_ids[i] for i in keep]
