"""BERT's pretraining loss is MLM + NSP: the two terms for a batch, for a model that has an MLM head.

Only models saved from BertForPreTraining (the Train tab's tiny BERTs from scratch) carry a masked-LM
head; the bundled models were loaded for NSP alone and have none that was trained, so for them there is
no MLM term to show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from transformers import BertForPreTraining

from explorer.batch import BatchInputError, EncodedBatch
from explorer.models import LoadedModel
from explorer.training.data import mask_for_mlm
from explorer.training.model import IGNORE

MLM_HEAD_KEY = "cls.predictions.transform.dense.weight"
NO_MLM_HEAD = (
    "This model has no trained masked-LM head (it was loaded for next sentence prediction only), so the MLM "
    "term of BERT's pretraining loss, MLM + NSP, cannot be computed for it. Train a tiny BERT from scratch "
    "with MLM + NSP in the Train tab and choose it in the sidebar to see both terms."
)


def _weights_file(source: str) -> Path | None:
    path = Path(source).expanduser() / "model.safetensors"
    return path if path.is_file() else None


def has_mlm_head(loaded: LoadedModel) -> bool:
    """True when the model's folder stores a masked-LM head next to the NSP head."""
    weights = _weights_file(loaded.source)
    if weights is None:
        return False
    try:
        with safe_open(str(weights), framework="pt") as handle:
            return MLM_HEAD_KEY in handle.keys()  # noqa: SIM118 - safe_open has keys(), not __contains__
    except (OSError, SafetensorError):  # deleted since it was loaded (a Reset, pruning), or damaged
        return False


def mlm_head_trained(loaded: LoadedModel) -> bool | None:
    """Whether the run that wrote the folder trained MLM too (training_info.json), None when it does not say."""
    info = Path(loaded.source).expanduser() / "training_info.json"
    try:
        config = json.loads(info.read_text(encoding="utf-8")).get("config", {})
        return bool(config["mlm_too"]) if "mlm_too" in config else None
    except (OSError, ValueError, AttributeError, TypeError):  # missing, unreadable or not this project's log
        return None


def load_pretraining_model(loaded: LoadedModel) -> BertForPreTraining:
    """The same folder as BertForPreTraining (safetensors only, no remote code), in eval mode."""
    try:
        model = BertForPreTraining.from_pretrained(
            str(Path(loaded.source).expanduser()), use_safetensors=True, trust_remote_code=False, dtype=torch.float32
        )
    except (OSError, ValueError, SafetensorError) as err:  # its folder changed or went since the model was loaded
        raise BatchInputError(
            f"The model's folder could not be read again for the MLM head ({err.__class__.__name__})."
        ) from err
    return model.eval().to(loaded.device)


@dataclass
class PretrainingTerms:
    mlm: float  # mean CE over the masked tokens
    nsp: float  # mean CE over the pairs
    masked_tokens: int
    library_total: float  # BertForPreTraining(..., labels=..., next_sentence_label=...).loss, the reference

    @property
    def total(self) -> float:
        return self.mlm + self.nsp


def pretraining_terms(model: BertForPreTraining, tokenizer, batch: EncodedBatch, seed: int = 0) -> PretrainingTerms:
    """Mask the batch as BERT does (15% of tokens, seeded), then read the MLM and NSP terms off one forward."""
    generator = torch.Generator().manual_seed(seed)
    cpu_batch = {k: v.cpu() for k, v in batch.inputs.items()}
    masked_ids, mlm_labels = mask_for_mlm(cpu_batch, tokenizer, generator)
    if not (mlm_labels != IGNORE).any():
        raise BatchInputError(
            "No token of this batch was drawn for masking (15% each): try another seed or more pairs."
        )
    device = next(model.parameters()).device
    inputs = {**{k: v.to(device) for k, v in batch.inputs.items()}, "input_ids": masked_ids.to(device)}
    mlm_labels = mlm_labels.to(device)
    with torch.no_grad():
        out = model(**inputs, labels=mlm_labels, next_sentence_label=batch.labels.to(device))
    vocab = out.prediction_logits.shape[-1]
    mlm = F.cross_entropy(out.prediction_logits.view(-1, vocab), mlm_labels.view(-1), ignore_index=IGNORE)
    nsp = F.cross_entropy(out.seq_relationship_logits.view(-1, 2), batch.labels.to(device).view(-1))
    return PretrainingTerms(float(mlm), float(nsp), int((mlm_labels != IGNORE).sum()), float(out.loss))
