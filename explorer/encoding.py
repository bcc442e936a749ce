"""A sentence pair as BERT sees it: [CLS] A [SEP] B [SEP], with ids, segments, positions and truncation."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

SEGMENT_A = 0  # [CLS], A and the first [SEP]
SEGMENT_B = 1  # B and the final [SEP]
SPECIAL_TOKENS_IN_PAIR = 3  # [CLS] and two [SEP]
DEFAULT_MAX_LENGTH = 128  # BERT's create_pretraining_data default
MIN_MAX_LENGTH = SPECIAL_TOKENS_IN_PAIR + 2  # room for one token of each sentence
MAX_POSITIONS = 512  # BERT's position embeddings: no pair is longer
# The longest sentence text the app takes (the Explorer's text boxes, a field of a pairs file): far more than
# 512 tokens, so truncation can still be shown, yet small enough to tokenise at once.
MAX_SENTENCE_CHARS = 100_000


class PairInputError(ValueError):
    """The pair cannot be encoded; the message is written for the person who typed it."""


@dataclass
class PairEncoding:
    tokens: list[str]
    input_ids: list[int]
    token_type_ids: list[int]
    attention_mask: list[int]
    roles: list[str]  # "special", "A" or "B" for each token
    max_length: int
    cut_a: list[str] = field(default_factory=list)  # tokens removed from the end of A by truncation
    cut_b: list[str] = field(default_factory=list)

    @property
    def positions(self) -> list[int]:
        return list(range(len(self.input_ids)))

    @property
    def truncated(self) -> bool:
        return bool(self.cut_a or self.cut_b)

    @property
    def is_continuation(self) -> list[bool]:
        return [token.startswith("##") for token in self.tokens]

    def tensors(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Model inputs for a batch of one; always passed by keyword (the 2nd positional is attention_mask)."""
        return {
            "input_ids": torch.tensor([self.input_ids], device=device),
            "token_type_ids": torch.tensor([self.token_type_ids], device=device),
            "attention_mask": torch.tensor([self.attention_mask], device=device),
        }


def truncate_longest_first(a: list, b: list, max_tokens: int) -> tuple[list, list, list, list]:
    """Trim the longer side (B on a tie) one token at a time from its end, as BERT's truncate_seq_pair does.

    BERT's pretraining data picks the front or the back at random; the explorer always trims the back so
    that the same text always gives the same input. Returns (kept_a, kept_b, cut_a, cut_b).
    """
    keep_a, keep_b = len(a), len(b)
    while keep_a + keep_b > max_tokens:
        if keep_a > keep_b:
            keep_a -= 1
        else:
            keep_b -= 1
    return a[:keep_a], b[:keep_b], a[keep_a:], b[keep_b:]


def pair_layout(cls_id: int, sep_id: int, ids_a: list[int], ids_b: list[int]) -> tuple[list[int], list[int]]:
    """[CLS] A [SEP] B [SEP] and its segment ids: 0 up to the first [SEP], 1 for B and the last [SEP]."""
    input_ids = [cls_id, *ids_a, sep_id, *ids_b, sep_id]
    token_type_ids = [SEGMENT_A] * (len(ids_a) + 2) + [SEGMENT_B] * (len(ids_b) + 1)
    return input_ids, token_type_ids


def _check_text(text: str, name: str) -> str:
    if text is None or not str(text).strip():
        raise PairInputError(f"Sentence {name} is empty: type at least one word.")
    text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:  # a lone surrogate: a shell argument whose bytes were not UTF-8
        raise PairInputError(
            f"Sentence {name} is not valid Unicode text (character {err.start + 1} is a lone surrogate, "
            "as left by bytes that are not UTF-8)."
        ) from None
    return text


def _check_max_length(max_length: int, limit: int) -> int:
    try:
        value = int(max_length)
    except (TypeError, ValueError, OverflowError):  # NaN, infinity, text
        value = None
    if value is None or value != max_length or not MIN_MAX_LENGTH <= value <= limit:
        raise PairInputError(f"Max sequence length must be a whole number between {MIN_MAX_LENGTH} and {limit} tokens.")
    return value


def encode_pair(
    tokenizer, a: str, b: str, max_length: int = DEFAULT_MAX_LENGTH, max_positions: int = 512
) -> PairEncoding:
    """Tokenise a pair with WordPiece and lay it out as [CLS] A [SEP] B [SEP].

    max_positions is the model's number of position embeddings: no sequence may be longer.
    """
    a, b = _check_text(a, "A"), _check_text(b, "B")
    tokenizer_limit = getattr(tokenizer, "model_max_length", 512) or 512  # huge when the tokenizer sets none
    limit = min(int(min(tokenizer_limit, 10**6)), int(max_positions), 512)
    max_length = _check_max_length(max_length, limit)
    ids_a = tokenizer(a, add_special_tokens=False)["input_ids"]
    ids_b = tokenizer(b, add_special_tokens=False)["input_ids"]
    for ids, name in ((ids_a, "A"), (ids_b, "B")):
        if not ids:
            raise PairInputError(
                f"Sentence {name} has no tokens left after the tokenizer removed control and invisible characters."
            )
    ids_a, ids_b, cut_a, cut_b = truncate_longest_first(ids_a, ids_b, max_length - SPECIAL_TOKENS_IN_PAIR)
    input_ids, token_type_ids = pair_layout(tokenizer.cls_token_id, tokenizer.sep_token_id, ids_a, ids_b)
    roles = ["special", *["A"] * len(ids_a), "special", *["B"] * len(ids_b), "special"]
    return PairEncoding(
        tokens=tokenizer.convert_ids_to_tokens(input_ids),
        input_ids=input_ids,
        token_type_ids=token_type_ids,
        attention_mask=[1] * len(input_ids),
        roles=roles,
        max_length=max_length,
        cut_a=tokenizer.convert_ids_to_tokens(cut_a),
        cut_b=tokenizer.convert_ids_to_tokens(cut_b),
    )
