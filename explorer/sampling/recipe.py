"""The limits of a sampling recipe, checked once: by PairSampler and by the `sample` command."""

from __future__ import annotations

from collections.abc import Callable

from explorer.encoding import MAX_POSITIONS, MIN_MAX_LENGTH
from explorer.sampling.registry import PAIR_MODES

SHARE_RANGE = (0.0, 1.0)  # not_next_share, short_seq_prob, hard_negatives and similar_negatives are shares
MAX_LENGTH_RANGE = (MIN_MAX_LENGTH, MAX_POSITIONS)  # one token of A and of B, up to BERT's positions
# The settings recipe_problem checks, as PairSampler names its arguments (and the sample command its flags).
RECIPE_SETTINGS = ("mode", "max_length", "not_next_share", "short_seq_prob", "hard_negatives", "similar_negatives")


def recipe_problem(
    *,
    mode: str,
    max_length: int,
    not_next_share: float,
    short_seq_prob: float,
    hard_negatives: bool | float,
    similar_negatives: float,
    spell: Callable[[str], str] = str,
) -> str | None:
    """One sentence naming the first setting out of its range (spelled by `spell`, e.g. as a flag), else None."""
    if mode not in PAIR_MODES:
        return f"unknown {spell('mode')} {mode!r}: use one of {', '.join(PAIR_MODES)}"
    shares = {
        "not_next_share": not_next_share,
        "short_seq_prob": short_seq_prob,
        "similar_negatives": similar_negatives,
        "hard_negatives": float(hard_negatives),
    }
    low, high = SHARE_RANGE
    for name, value in shares.items():
        if not low <= value <= high:
            return f"{spell(name)} must lie between {low:g} and {high:g}"
    shortest, longest = MAX_LENGTH_RANGE
    if not shortest <= int(max_length) <= longest:
        return f"{spell('max_length')} must lie between {shortest} and {longest}"
    return None
