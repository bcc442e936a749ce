"""A finished run on disk: safetensors weights, tokenizer, training_log.csv and training_info.json; and as a zip."""

from __future__ import annotations

import io
import json
import platform
import time
import zipfile
from pathlib import Path
from typing import Any

import torch

from explorer.training.config import TrainConfig
from explorer.training.events import Event
from explorer.training.log import summarize_log, write_log_csv


def save_checkpoint(model: Any, tokenizer: Any, out_dir: Any, config: TrainConfig, log: list[Event]) -> Path:
    """Write safetensors weights, config, tokenizer files, training_log.csv and training_info.json.

    The folder loads with explorer.models.load_model(out_dir) and `python -m explorer score --model DIR`
    (a scratch BertForPreTraining loads as BertForNextSentencePrediction: the NSP head keys match).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    write_log_csv(log, out / "training_log.csv")
    info = {
        "what": "NSP Explorer training run",
        "config": config.to_dict(),
        "summary": summarize_log(log),
        "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    (out / "training_info.json").write_text(json.dumps(info, indent=2))
    return out


def checkpoint_zip(folder: Any) -> bytes:
    """The checkpoint folder as one zip (the app's download button); files sit in a folder named after the run."""
    folder = Path(folder)
    buffer = io.BytesIO()
    # Weights barely compress, so store them; the zip then costs a copy, not minutes of CPU.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, arcname=f"{folder.name}/{path.relative_to(folder)}")
    return buffer.getvalue()
