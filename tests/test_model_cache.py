"""The server-wide model cache: one load per model and device, and a rewritten folder is loaded again."""

import os
import shutil

import torch

from explorer.models import load_model, source_stamp
from explorer.ui.resources import cached_model, forget_cached_model, model_key


def test_a_model_folder_written_again_is_loaded_again(tiny_bert_dir, tmp_path):
    # `explorer train --out runs/demo` run twice writes the same folder: the page must not keep the old weights.
    folder = tmp_path / "run"
    shutil.copytree(tiny_bert_dir, folder)
    first = cached_model(str(folder), "cpu")
    assert cached_model(str(folder), "cpu") is first
    assert first.files_stamp == source_stamp(str(folder)) is not None

    rewritten = load_model(str(folder), "cpu").model
    with torch.no_grad():
        rewritten.cls.seq_relationship.bias.copy_(torch.tensor([3.0, -3.0]))
    rewritten.save_pretrained(folder)
    later = max(f.stat().st_mtime_ns for f in folder.iterdir()) + 1_000_000_000
    os.utime(folder / "model.safetensors", ns=(later, later))  # coarse file-system clocks: make it visibly newer

    second = cached_model(str(folder), "cpu")
    assert second is not first and model_key(second) != model_key(first)
    assert second.model.cls.seq_relationship.bias.tolist() == [3.0, -3.0]
    assert cached_model(str(folder), "cpu") is second
    forget_cached_model(folder)
    assert cached_model(str(folder), "cpu") is not second


def test_sources_that_are_not_local_folders_have_no_stamp(tmp_path):
    assert source_stamp("bundled:minilm-nsp") is None and source_stamp("google/bert_uncased_L-2_H-128_A-2") is None
    assert source_stamp(str(tmp_path / "missing")) is None and source_stamp("bad\x00path") is None
    assert source_stamp(str(tmp_path)) is None  # an empty folder
