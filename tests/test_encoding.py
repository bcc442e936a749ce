import pytest

from explorer.encoding import SEGMENT_A, SEGMENT_B, PairInputError, encode_pair, truncate_longest_first


def test_layout_segments_and_positions(bundled):
    enc = encode_pair(bundled.tokenizer, "The man went to the store.", "He bought a gallon of milk.")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    first_sep = enc.tokens.index("[SEP]")
    assert enc.tokens[1:first_sep] == ["the", "man", "went", "to", "the", "store", "."]
    assert enc.token_type_ids == [SEGMENT_A] * (first_sep + 1) + [SEGMENT_B] * (len(enc.tokens) - first_sep - 1)
    assert enc.positions == list(range(len(enc.tokens)))
    assert enc.attention_mask == [1] * len(enc.tokens)
    assert enc.roles[0] == "special" and enc.roles[first_sep] == "special" and enc.roles[-1] == "special"
    assert set(enc.roles[1:first_sep]) == {"A"} and set(enc.roles[first_sep + 1 : -1]) == {"B"}
    assert not enc.truncated


def test_matches_the_tokenizers_own_pair_encoding(bundled):
    a, b = "Unbelievably, tokenisation splits words.", "Wordpieces are subword units!"
    enc = encode_pair(bundled.tokenizer, a, b)
    ref = bundled.tokenizer(a, b)
    assert enc.input_ids == ref["input_ids"]
    assert enc.token_type_ids == ref["token_type_ids"]


def test_wordpiece_continuations_are_marked(bundled):
    enc = encode_pair(bundled.tokenizer, "gallons", "unbelievability")
    assert any(enc.is_continuation)
    assert all(t.startswith("##") == c for t, c in zip(enc.tokens, enc.is_continuation))


def test_truncate_longest_first_trims_the_longer_side_and_b_on_a_tie():
    a, b, cut_a, cut_b = truncate_longest_first(list(range(10)), list(range(100, 104)), 8)
    assert (a, b) == ([0, 1, 2, 3], [100, 101, 102, 103]) and cut_a == [4, 5, 6, 7, 8, 9] and cut_b == []
    a, b, cut_a, cut_b = truncate_longest_first([1, 2, 3], [4, 5, 6], 5)
    assert (a, b, cut_a, cut_b) == ([1, 2, 3], [4, 5], [], [6])
    a, b, _, _ = truncate_longest_first(list(range(50)), list(range(60)), 9)
    assert (len(a), len(b)) == (5, 4)  # at 5-5 the tie trims B


def test_truncation_is_recorded(bundled):
    long_a = "word " * 300
    enc = encode_pair(bundled.tokenizer, long_a, "A short one.", max_length=32)
    assert len(enc.input_ids) == 32 and enc.truncated
    assert len(enc.cut_a) == 300 - (32 - 3 - 4) and enc.cut_b == []
    assert enc.tokens.count("[SEP]") == 2


def test_fifty_thousand_characters_are_truncated_not_rejected(bundled):
    enc = encode_pair(bundled.tokenizer, "x" * 50_000, "y " * 25_000, max_length=128)
    assert len(enc.input_ids) == 128 and enc.truncated


@pytest.mark.parametrize("a,b", [("", "B"), ("A", ""), ("   \n\t", "B"), ("A", None)])
def test_empty_sentences_are_rejected_clearly(bundled, a, b):
    with pytest.raises(PairInputError, match="empty"):
        encode_pair(bundled.tokenizer, a, b)


def test_control_characters_only_leave_no_tokens(bundled):
    with pytest.raises(PairInputError, match="no tokens"):
        encode_pair(bundled.tokenizer, "\x00\x01\u200b", "fine")


def test_emoji_and_rtl_text_encode(bundled):
    enc = encode_pair(bundled.tokenizer, "I love pizza 🍕🔥", "مرحبا بالعالم שלום")
    assert enc.tokens[0] == "[CLS]" and "[UNK]" in enc.tokens


@pytest.mark.parametrize("length", [4, 513, 0])
def test_max_length_bounds(bundled, length):
    with pytest.raises(PairInputError, match="between"):
        encode_pair(bundled.tokenizer, "a", "b", max_length=length)
