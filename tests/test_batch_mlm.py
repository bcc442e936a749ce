"""MLM + NSP for a batch: the two terms of a model with an MLM head against BertForPreTraining's own loss."""

import re

import pytest
import torch
from test_batch import made_up_pairs

from explorer.batch_lesson import start_lesson
from explorer.batch_mlm import has_mlm_head, load_pretraining_model, pretraining_terms
from explorer.training import mask_for_mlm


@pytest.fixture(scope="module")
def pretraining_dir(tmp_path_factory):
    """A tiny BertForPreTraining saved the way the Train tab saves a scratch run."""
    from transformers import BertConfig, BertForPreTraining, BertTokenizerFast

    from explorer.models import bundled_encoder_dir

    folder = tmp_path_factory.mktemp("tiny-pretraining")
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    torch.manual_seed(7)
    BertForPreTraining(config).save_pretrained(folder)
    BertTokenizerFast.from_pretrained(bundled_encoder_dir()).save_pretrained(folder)
    return folder


def test_mlm_plus_nsp_equals_the_library_and_nsp_is_scored_on_the_masked_input(pretraining_dir):
    from explorer.models import load_model

    loaded = load_model(str(pretraining_dir), "cpu")
    assert has_mlm_head(loaded)
    lesson = start_lesson(loaded, made_up_pairs(8, seed=21), "bert")
    terms = pretraining_terms(load_pretraining_model(loaded), loaded.tokenizer, lesson.batch, seed=3)
    assert terms.masked_tokens > 0
    assert abs(terms.total - terms.library_total) < 1e-5
    # BERT scores NSP on the masked input: the same NSP loss the NSP-only model gives for those ids
    masked_ids, _ = mask_for_mlm(lesson.batch.inputs, loaded.tokenizer, torch.Generator().manual_seed(3))
    with torch.no_grad():
        nsp = loaded.model(**{**lesson.batch.inputs, "input_ids": masked_ids}, labels=lesson.batch.labels).loss
    assert abs(terms.nsp - float(nsp)) < 1e-6
    assert terms.mlm > 5.0  # random MLM head over a 30522-word vocabulary: about ln 30522 = 10.3


def test_nsp_only_models_have_no_mlm_head(tiny, bundled):
    assert not has_mlm_head(tiny)
    assert not has_mlm_head(bundled)


def test_the_batch_tab_shows_both_terms_for_a_model_with_an_mlm_head(monkeypatch, pretraining_dir):
    from streamlit.testing.v1 import AppTest
    from test_ui_batch import batch_page

    monkeypatch.setenv("NSP_BATCH_TEST_MODEL", str(pretraining_dir))
    at = AppTest.from_function(batch_page, default_timeout=120)
    at.run()
    at.radio(key="batch_source").set_value("examples").run()
    at.button(key="batch_draw").click().run()
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert "MLM + NSP" in labels and any(label.startswith("MLM (") for label in labels)
    total = float(next(m.value for m in at.metric if m.label == "MLM + NSP"))
    caption = next(c.value for c in at.caption if "BertForPreTraining's own loss" in c.value)
    library = float(re.search(r"own loss for this masked batch: ([0-9]+\.[0-9]+)", caption).group(1))
    assert abs(total - library) < 2e-5  # both shown to 6 decimals


def test_a_batch_with_no_masked_token_is_a_message(pretraining_dir):
    from explorer.batch import BatchInputError, encode_batch
    from explorer.evaluate import LabelledPair
    from explorer.models import load_model

    loaded = load_model(str(pretraining_dir), "cpu")
    batch = encode_batch(loaded, [LabelledPair("Hi.", "Yo.", 0)])
    seeds = [
        s
        for s in range(50)
        if not (mask_for_mlm(batch.inputs, loaded.tokenizer, torch.Generator().manual_seed(s))[1] != -100).any()
    ]
    with pytest.raises(BatchInputError, match="No token of this batch"):
        pretraining_terms(load_pretraining_model(loaded), loaded.tokenizer, batch, seed=seeds[0])


def test_a_folder_deleted_or_damaged_after_loading_gives_a_message_not_a_traceback(pretraining_dir, tmp_path):
    # A session-end reset or checkpoint pruning can delete a run's folder while its model is still in use.
    import shutil

    from explorer.batch import BatchInputError
    from explorer.batch_mlm import mlm_head_trained
    from explorer.models import load_model

    folder = tmp_path / "run"
    shutil.copytree(pretraining_dir, folder)
    loaded = load_model(str(folder), "cpu")
    (folder / "training_info.json").write_text("[1, 2")  # cut short
    assert mlm_head_trained(loaded) is None
    (folder / "model.safetensors").write_bytes(b"\x00" * 16)  # damaged
    assert not has_mlm_head(loaded)
    with pytest.raises(BatchInputError, match="could not be read again"):
        load_pretraining_model(loaded)
    shutil.rmtree(folder)
    assert not has_mlm_head(loaded) and mlm_head_trained(loaded) is None
    with pytest.raises(BatchInputError, match="could not be read again"):
        load_pretraining_model(loaded)
