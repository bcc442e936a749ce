"""Shared fixtures. Tests never touch the network: the hub is forced offline before transformers loads."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bundled():
    """The real bundled MiniLM-L6 model (pretrained encoder, untrained NSP head)."""
    from explorer.models import BUNDLED_UNTRAINED, load_model

    return load_model(BUNDLED_UNTRAINED, "cpu")


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A tiny randomly initialised BERT NSP model with the bundled vocabulary, saved like a hub download."""
    from transformers import BertConfig, BertForNextSentencePrediction, BertTokenizerFast

    from explorer.models import bundled_encoder_dir

    folder = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(1234)
    model = BertForNextSentencePrediction(config)
    model.save_pretrained(folder)  # safetensors by default
    BertTokenizerFast.from_pretrained(bundled_encoder_dir()).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny(tiny_bert_dir):
    from explorer.models import load_model

    return load_model(str(tiny_bert_dir), "cpu")


@pytest.fixture
def app_script():
    """What app_page runs: the whole app. A test module overrides this fixture to run one page function."""
    return ROOT / "app.py"


@pytest.fixture
def app_page(app_script):
    """The app (or app_script's page) run headlessly once, without an exception."""
    from streamlit.testing.v1 import AppTest

    if callable(app_script):
        at = AppTest.from_function(app_script, default_timeout=120)
    else:
        at = AppTest.from_file(str(app_script), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at
