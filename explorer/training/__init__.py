"""NSP training, one job per module; this package's namespace is the public API.

A run is: settings (`config.TrainConfig`) -> a corpus split by document into train / held-out
(`data`) -> a model whose chosen parts are trainable (`model`) -> steps of [CLS] A [SEP] B [SEP]
batches with cross_entropy on the NSP logits, plus MLM for a tiny BERT from scratch (`loop`) ->
typed events (`events`) the caller draws or prints -> a CSV log and summary (`log`) and a checkpoint
(`checkpoints`); under torchrun, `distributed` splits each batch among the processes.
Beside them: `runs` (the app's runs, each trained by `worker` in a child process) and `plots` (the
curves). None of it knows Streamlit.
"""

from explorer.training.checkpoints import checkpoint_zip, save_checkpoint
from explorer.training.config import (
    BF16_CHOICES,
    MAX_POSITIONS,
    PRESETS,
    TRAIN_CHOICES,
    TrainConfig,
    TrainConfigError,
    preset,
    scratch_heads,
)
from explorer.training.data import (
    load_training_corpus,
    make_sampler,
    mask_for_mlm,
    pairs_to_batch,
    split_corpus,
    with_extra_documents,
)
from explorer.training.events import EndEvent, EvalEvent, Event, PlanEvent, StartEvent, StepEvent, event_from_dict
from explorer.training.log import chance_text, log_csv_text, moving_average, summarize_log, write_log_csv
from explorer.training.loop import Trainer
from explorer.training.model import (
    bf16_supported,
    build_scratch_model,
    trainable_groups,
    warmup_then_linear_decay,
)

__all__ = [
    "BF16_CHOICES",
    "MAX_POSITIONS",
    "PRESETS",
    "TRAIN_CHOICES",
    "EndEvent",
    "EvalEvent",
    "Event",
    "PlanEvent",
    "StartEvent",
    "StepEvent",
    "TrainConfig",
    "TrainConfigError",
    "Trainer",
    "bf16_supported",
    "build_scratch_model",
    "chance_text",
    "checkpoint_zip",
    "event_from_dict",
    "load_training_corpus",
    "log_csv_text",
    "make_sampler",
    "mask_for_mlm",
    "moving_average",
    "pairs_to_batch",
    "preset",
    "save_checkpoint",
    "scratch_heads",
    "split_corpus",
    "summarize_log",
    "trainable_groups",
    "warmup_then_linear_decay",
    "with_extra_documents",
    "write_log_csv",
]
