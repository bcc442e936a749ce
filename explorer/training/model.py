"""What is trained: the tiny scratch BERT, which parameters learn (and at which rate), the lr schedule, bf16."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForPreTraining

from explorer.training.config import MAX_POSITIONS, TrainConfig, TrainConfigError

IGNORE = -100  # label value cross_entropy skips (HF convention)


def build_scratch_model(config: TrainConfig, vocab_size: int) -> BertForPreTraining:
    """A tiny BERT with random weights: MLM head + NSP head, like BERT pretraining, only small."""
    hidden = config.scratch_hidden
    bert_config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=config.scratch_layers,
        num_attention_heads=config.scratch_heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=MAX_POSITIONS,
        type_vocab_size=2,
    )
    return BertForPreTraining(bert_config)


class PairLosses(torch.nn.Module):
    """(total, nsp, mlm or None, NSP logits) of a batch, read off the real BERT modules.

    One module, so that DistributedDataParallel can wrap the whole forward pass (it syncs gradients only
    for what runs through its own forward).
    """

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(
        self, batch: dict[str, torch.Tensor], mlm_labels: torch.Tensor | None, smoothing: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
        if not isinstance(self.model, BertForPreTraining):
            logits = self.model(**inputs).logits
            nsp = F.cross_entropy(logits.float(), batch["labels"], label_smoothing=smoothing)
            return nsp, nsp, None, logits
        out = self.model.bert(**inputs)
        logits = self.model.cls.seq_relationship(out.pooler_output)
        nsp = F.cross_entropy(logits.float(), batch["labels"], label_smoothing=smoothing)
        if mlm_labels is None:
            return nsp, nsp, None, logits
        # Predict only at masked positions: the vocabulary projection at every position would dominate the cost.
        chosen = mlm_labels != IGNORE
        token_logits = self.model.cls.predictions(out.last_hidden_state[chosen])
        mlm = F.cross_entropy(token_logits.float(), mlm_labels[chosen]) if chosen.any() else nsp * 0.0
        return nsp + mlm, nsp, mlm, logits


def set_dropout(model: torch.nn.Module, p: float | None) -> None:
    """Every dropout layer at p (None keeps the model's own)."""
    if p is None:
        return
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p


def _trained_parts(model: Any, config: TrainConfig) -> tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]]:
    """(encoder parameters, pooler + head parameters) that config.train_what trains."""
    bert = model.bert
    head_params = list(model.cls.parameters())
    pooler_params = list(bert.pooler.parameters()) if bert.pooler is not None else []
    layers = bert.encoder.layer
    what = config.train_what
    if what == "head":
        return [], head_params
    if what == "pooler":
        return [], pooler_params + head_params
    k = config.top_k
    if k is not None:
        if k > len(layers):
            raise TrainConfigError(f"top-{k} asks for more layers than the model has ({len(layers)}).")
        return [p for layer in layers[-k:] for p in layer.parameters()], pooler_params + head_params
    # full or scratch: everything
    head_ids = {id(p) for p in head_params + pooler_params}
    encoder_params = [p for p in model.parameters() if id(p) not in head_ids]
    if config.freeze_word_embeddings:
        frozen = bert.embeddings.word_embeddings.weight
        encoder_params = [p for p in encoder_params if p is not frozen]
    return encoder_params, pooler_params + head_params


def trainable_groups(model: Any, config: TrainConfig) -> list[dict[str, Any]]:
    """Freeze what is not trained and return optimizer parameter groups (encoder lr vs pooler + head lr)."""
    for p in model.parameters():
        p.requires_grad_(False)
    encoder_params, head_params = _trained_parts(model, config)
    head_lr = config.head_lr if config.head_lr is not None else config.lr
    groups = []
    for params, lr in ((encoder_params, config.lr), (head_params, head_lr)):
        for p in params:
            p.requires_grad_(True)
        # As in BERT, biases and LayerNorm weights (1-d tensors) are not decayed.
        groups.append({"params": [p for p in params if p.ndim > 1], "lr": lr, "weight_decay": config.weight_decay})
        groups.append({"params": [p for p in params if p.ndim <= 1], "lr": lr, "weight_decay": 0.0})
    return [g for g in groups if g["params"]]


def warmup_then_linear_decay(total_steps: int, warmup_share: float) -> Callable[[int], float]:
    warmup_steps = round(total_steps * warmup_share)

    def factor(step: int) -> float:  # step counts from 0: the lr used for step+1
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        # Only CPUs with native bf16 instructions (AVX512_BF16, AMX) gain; elsewhere autocast is slower than fp32.
        try:
            flags = Path("/proc/cpuinfo").read_text()
        except OSError:  # not Linux: trust oneDNN's own answer
            return bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())
        return "avx512_bf16" in flags or "amx_bf16" in flags
    return False


def use_bf16(config: TrainConfig, device: torch.device) -> bool:
    return config.bf16 == "on" or (config.bf16 == "auto" and bf16_supported(device))
