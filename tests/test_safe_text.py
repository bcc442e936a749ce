import pytest
import torch

from explorer.encoding import PairInputError
from explorer.ui.safe import escape_markdown


def test_markdown_is_escaped():
    raw = "[click](http://x) **b** $x$ `c` a_b <img>"
    escaped = escape_markdown(raw)
    # every Markdown character now follows a backslash, and removing the backslashes gives the text back
    for i, char in enumerate(escaped):
        if char in "[]()*$`_<>":
            assert escaped[i - 1] == "\\", (char, escaped)
    assert escaped.replace("\\", "") == raw


def test_a_model_with_fewer_positions_limits_the_length(tmp_path, bundled):
    from transformers import BertConfig, BertForNextSentencePrediction

    from explorer.models import load_model
    from explorer.nsp import score_pair

    config = BertConfig(
        vocab_size=30522,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertForNextSentencePrediction(config).save_pretrained(tmp_path)
    bundled.tokenizer.save_pretrained(tmp_path)
    short = load_model(str(tmp_path), "cpu")
    assert short.max_positions == 64
    with pytest.raises(PairInputError, match="between 5 and 64"):
        score_pair(short, "word " * 100, "word " * 100, max_length=128)
    assert len(score_pair(short, "word " * 100, "word " * 100, max_length=64).encoding.tokens) == 64
