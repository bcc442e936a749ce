"""Property tests of the pair encoder: any Unicode text, any max length.

The property: encode_pair gives [CLS] A [SEP] B [SEP] within the max length, with segments, roles and
truncation that agree, or a PairInputError with a message; never another exception.
"""

from __future__ import annotations

import functools
import math

from fuzz_settings import budget
from hypothesis import example, given
from hypothesis import strategies as st

from explorer.encoding import (
    MIN_MAX_LENGTH,
    SEGMENT_A,
    SEGMENT_B,
    PairInputError,
    encode_pair,
    truncate_longest_first,
)

# Any code point, lone surrogates included: a shell argument whose bytes are not UTF-8 arrives as one.
any_text = st.text(st.characters(codec=None), max_size=200) | st.sampled_from(
    ["", " ", "\x00", "\u200b\u200b", "[SEP] [CLS]", "🙂" * 40, "x" * 2000, "\udcff abc", "e\u0301" * 50]
)
any_max_length = st.integers() | st.sampled_from([MIN_MAX_LENGTH - 1, MIN_MAX_LENGTH, 512, 513, 2**63]) | st.floats()


@functools.cache
def tokenizer():
    from transformers import BertTokenizerFast

    from explorer.models import bundled_encoder_dir

    return BertTokenizerFast.from_pretrained(bundled_encoder_dir())


@budget(200)
@given(any_text, any_text, any_max_length)
@example("\udcff", "b", 128)  # found by the fuzzer: the tokenizer raised TypeError
@example("a", "b", math.nan)  # found by the fuzzer: int(nan) raised ValueError
def test_any_pair_encodes_or_says_why(a, b, max_length):
    tok = tokenizer()
    try:
        enc = encode_pair(tok, a, b, max_length)
    except PairInputError as err:
        assert str(err).strip() and "\n" not in str(err)
        return
    n = len(enc.input_ids)
    assert MIN_MAX_LENGTH <= enc.max_length <= 512 and n <= enc.max_length
    assert len(enc.tokens) == len(enc.token_type_ids) == len(enc.attention_mask) == len(enc.roles) == n
    assert set(enc.attention_mask) == {1}
    first_sep = enc.roles.index("special", 1)
    assert enc.roles[0] == enc.roles[-1] == "special" and first_sep < n - 1
    assert enc.roles[1:first_sep] == ["A"] * (first_sep - 1) and enc.roles[first_sep + 1 : -1] == ["B"] * (
        n - first_sep - 2
    )
    assert first_sep > 1 and n - first_sep > 2  # at least one token of each sentence survives
    assert enc.token_type_ids == [SEGMENT_A] * (first_sep + 1) + [SEGMENT_B] * (n - first_sep - 1)
    assert enc.input_ids[0] == tok.cls_token_id and enc.input_ids[first_sep] == enc.input_ids[-1] == tok.sep_token_id
    # What truncation cut plus what it kept is the whole tokenisation of each sentence.
    full_a = tok(a, add_special_tokens=False)["input_ids"]
    full_b = tok(b, add_special_tokens=False)["input_ids"]
    assert len(full_a) == first_sep - 1 + len(enc.cut_a) and len(full_b) == n - first_sep - 2 + len(enc.cut_b)
    assert enc.input_ids[1:first_sep] == full_a[: first_sep - 1]


@budget(200)
@given(st.lists(st.integers()), st.lists(st.integers()), st.integers(0, 600))
def test_truncation_keeps_prefixes_and_trims_the_longer_side(a, b, room):
    kept_a, kept_b, cut_a, cut_b = truncate_longest_first(a, b, room)
    assert kept_a + cut_a == a and kept_b + cut_b == b
    assert len(kept_a) + len(kept_b) == min(room, len(a) + len(b))
    if cut_a and cut_b:  # both trimmed: they end within one token of each other
        assert abs(len(kept_a) - len(kept_b)) <= 1
