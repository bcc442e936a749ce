import json

import pytest
import torch

from explorer.device import resolve_device
from explorer.models import BUNDLED_UNTRAINED, ModelLoadError, load_model


def test_bundled_model_loads_offline_with_untrained_head(bundled):
    assert bundled.source == BUNDLED_UNTRAINED
    assert bundled.head_trained is False
    assert bundled.model.config.hidden_size == 384 and bundled.model.config.num_hidden_layers == 6
    assert any("untrained" in note or "not trained" in note for note in bundled.notes)


def test_untrained_head_is_reproducible():
    a = load_model(BUNDLED_UNTRAINED, "cpu").model.cls.seq_relationship.weight
    b = load_model(BUNDLED_UNTRAINED, "cpu").model.cls.seq_relationship.weight
    assert torch.equal(a, b)


def test_local_folder_saved_with_save_pretrained(tiny_bert_dir, tiny):
    """A folder written by save_pretrained stands in for a hub download."""
    assert tiny.head_trained is True
    assert tiny.model.config.hidden_size == 32
    assert (tiny_bert_dir / "model.safetensors").is_file()


def test_unknown_hub_id_offline_gives_a_clear_error():
    with pytest.raises(ModelLoadError, match=r"Could not find a model called 'no-such-org/no-such-bert'.*offline"):
        load_model("no-such-org/no-such-bert", "cpu")


def test_a_missing_folder_is_named_as_a_folder_and_a_run_folder_by_its_run_id(tmp_path, monkeypatch):
    from explorer.models import checkpoints_dir, describe_source

    for missing in (str(tmp_path / "nope"), "./nope", "~/surely-not-here-4711"):
        with pytest.raises(ModelLoadError, match=r"^There is no folder .*nope|^There is no folder ~/surely"):
            load_model(missing, "cpu")
    monkeypatch.setenv("NSP_EXPLORER_HOME", str(tmp_path))
    run = checkpoints_dir() / "run-20261128-120000-abcdef"
    assert describe_source(str(run)) == "run-20261128-120000-abcdef (trained here)"
    assert describe_source(str(tmp_path / "mine")) == str(tmp_path / "mine")
    assert describe_source("bundled:minilm-nsp") == "MiniLM-L6 · NSP fine-tuned here"


def test_hub_id_without_network_is_refused_not_downloaded():
    with pytest.raises(ModelLoadError, match="bert-base-uncased"):
        load_model("bert-base-uncased", "cpu")


def test_non_bert_model_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ModelLoadError, match="not BERT"):
        load_model(str(tmp_path), "cpu")


def test_folder_without_safetensors_is_refused(tmp_path, tiny_bert_dir):
    (tmp_path / "config.json").write_text((tiny_bert_dir / "config.json").read_text())
    torch.save({}, tmp_path / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="safetensors"):
        load_model(str(tmp_path), "cpu")


@pytest.mark.parametrize("source,match", [("", "No model"), ("bundled:nope", "Unknown bundled")])
def test_bad_sources(source, match):
    with pytest.raises(ModelLoadError, match=match):
        load_model(source, "cpu")


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        load_model(str(tmp_path), "cpu")


def test_missing_gpu_falls_back_to_cpu_with_a_message():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    choice = resolve_device("cuda")
    assert choice.device.type == "cpu" and "No CUDA GPU" in choice.message
    assert resolve_device("auto").message is None
    with pytest.raises(ValueError):
        resolve_device("tpu")


def test_a_folder_with_a_broken_config_says_so(tmp_path):
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(ModelLoadError, match=r"config.json of .* cannot be read"):
        load_model(str(tmp_path), "cpu")
