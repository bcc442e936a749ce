"""The settings of a training run, declared once: each field's metadata gives its CLI flag, page widget and checks.

To add a setting, add one `setting(...)` field here and read it where it acts (the loop, the model, the
data); the `train` command's flag, the Train tab's widget, the range check and the saved
training_info.json follow from the declaration (see explorer.settings).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from explorer.corpus import corpus_parts, known_corpus_name
from explorer.device import DEVICE_NAMES
from explorer.encoding import MAX_POSITIONS, MIN_MAX_LENGTH
from explorer.models import BUNDLED_UNTRAINED
from explorer.sampling import MODE_DESCRIPTIONS, MODES
from explorer.settings import range_problems, setting

TRAIN_CHOICES = ("head", "pooler", "top-K", "full", "scratch")
TRAIN_LABELS = {
    "head": "only the NSP head (W_NSP)",
    "pooler": "pooler + NSP head",
    "top-K": "top K encoder layers + pooler + head",
    "full": "the whole model (fine-tune)",
    "scratch": "a tiny BERT from scratch",
}
BF16_CHOICES = ("auto", "on", "off")
MAX_STEPS = 100_000
MAX_BATCH = 1024
MAX_LR = 1.0  # anything above this makes AdamW diverge at once on BERT; it is a typo, not a setting
MAX_SCRATCH_LAYERS = 12
HEAD_SIZE = 64  # BERT's attention head size: about one head per 64 hidden dimensions


class TrainConfigError(ValueError):
    """Settings that cannot train; the message says which setting and what would work."""


@dataclass
class TrainConfig:
    steps: int = setting(200, "Steps", low=1, high=MAX_STEPS, help="training steps (batches)")
    batch_size: int = setting(32, "Batch size (pairs)", low=1, high=MAX_BATCH, help="pairs per step")
    lr: float = setting(
        5e-5, "Learning rate (encoder)", low=0, low_open=True, step=1e-5, help="encoder and embeddings learning rate"
    )
    head_lr: float | None = setting(
        None, "Learning rate (pooler + head)", low=0, low_open=True, step=1e-4,
        help="pooler + NSP head learning rate; empty: same as the encoder's. A fresh head learns faster with more",
    )  # fmt: skip
    warmup: float = setting(
        0.1, "Warmup share", low=0, high=1, high_open=True, group="advanced",
        help="share of the steps with linear warmup, then linear decay to 0",
    )  # fmt: skip
    weight_decay: float = setting(
        0.01, "Weight decay", low=0, high=1, high_open=True, group="advanced",
        help="AdamW weight decay (not on biases and LayerNorm weights, as in BERT)",
    )  # fmt: skip
    label_smoothing: float = setting(
        0.0, "Label smoothing", low=0, high=1, high_open=True, group="advanced",
        help="NSP training targets (1 - s/2, s/2) instead of (1, 0); held-out loss stays plain cross-entropy",
    )  # fmt: skip
    grad_clip: float = setting(
        1.0, "Gradient clipping", low=0, group="advanced", help="clip the global gradient norm (BERT: 1.0); 0 = off"
    )
    max_length: int = setting(
        128, "Max sequence length", low=MIN_MAX_LENGTH, high=MAX_POSITIONS,
        help=f"tokens per pair, [CLS] A [SEP] B [SEP]; BERT has {MAX_POSITIONS} position embeddings",
    )  # fmt: skip
    seed: int = setting(0, "Seed", low=0, high=2**31 - 1, help="same seed and settings: the same curve")
    not_next_share: float = setting(
        0.5, "NotNext share", low=0, high=1, low_open=True, high_open=True, step=0.05,
        help="share of pairs whose B is not the next segment",
    )  # fmt: skip
    mode: str = setting(
        "bert", "Pair mode", choices=MODES, choice_labels=MODE_DESCRIPTIONS,
        help="BERT chunks (the original recipe), single sentences (short, fast) or ALBERT's sentence order (SOP)",
    )  # fmt: skip
    train_what: str = setting(
        "full", "What to train", aliases=("--train",), page=False,
        help="head | pooler | top-K (e.g. top-2) | full | scratch",
    )  # fmt: skip
    scratch_layers: int = setting(
        2, "Layers", low=1, high=MAX_SCRATCH_LAYERS, only_for="scratch", help="scratch only: encoder layers"
    )
    scratch_hidden: int = setting(
        128, "Hidden size", low=8, step=16, only_for="scratch", help="scratch only: hidden size"
    )
    scratch_heads: int = setting(
        2, "Attention heads", low=1, page=False, help="scratch only: heads (must divide the hidden size)"
    )
    mlm_too: bool = setting(
        False, "MLM + NSP (as BERT pretraining)", aliases=("--mlm",), only_for="scratch",
        help="scratch only: total loss = MLM + NSP, as in BERT pretraining",
    )  # fmt: skip
    # Half of MiniLM's weights are the 30,522 x 384 word embeddings: freezing them halves the optimizer's work
    # and drops a dense gradient, while the pretrained vocabulary stays as it is.
    freeze_word_embeddings: bool = setting(
        False, "Freeze word embeddings",
        help="keep the pretrained word table fixed: about half of MiniLM's weights, so steps are faster",
    )  # fmt: skip
    dropout: float | None = setting(
        None, "Dropout", low=0, high=1, high_open=True, group="advanced", help="empty: the model's own dropout"
    )
    eval_every: int = setting(50, "Evaluate every (steps)", low=1)
    eval_pairs: int = setting(256, "Held-out pairs", low=2, high=20_000, group="advanced")
    eval_batch_size: int = setting(64, "Evaluation batch size", low=1, high=MAX_BATCH, group="advanced")
    heldout_fraction: float = setting(
        0.1, "Held-out share of documents", low=0, high=0.5, low_open=True, group="advanced",
        help="documents kept out of training for the held-out curve",
    )  # fmt: skip
    bf16: str = setting(
        "auto", "bf16 autocast", choices=BF16_CHOICES,
        help="auto: where the hardware runs it natively (CPUs with AVX-512 BF16, recent GPUs)",
    )  # fmt: skip
    device: str = setting("auto", "Device", choices=DEVICE_NAMES, page=False)
    base_model: str = setting(
        BUNDLED_UNTRAINED, "Starting model", aliases=("--model",), page=False,
        help="bundled model, local folder or hub id (for scratch: only its tokenizer)",
    )  # fmt: skip
    corpus: str = setting("default", "Corpus", page=False, help="corpus name (default: the bundled corpus)")
    # Training-only text: a named corpus whose documents join the training side of the split and are never
    # held out, so adding a source leaves the held-out documents of `corpus` (and their curve) unchanged.
    extra_corpus: str = setting(
        "", "Extra training corpus", page=False, help="training-only corpus (e.g. kjv): trained on, never held out"
    )
    max_seconds: float | None = setting(
        None, "Time limit (s)", low=0, low_open=True, help="stop (as finished) after this much training time"
    )
    fit_to_time: bool = setting(
        False, "Fit to the time limit",
        help="with a time limit: time the steps, and lay the schedule and evaluations over the steps that fit",
    )  # fmt: skip
    hard_negatives: bool | float = setting(
        False, "Hard negatives", low=0, high=1, group="advanced",
        help="share of NotNext B taken from A's own document, not adjacent (True = all)",
    )  # fmt: skip
    same_source_negatives: bool = setting(
        False, "Same-source negatives", group="advanced",
        help="in a corpus mixture (e.g. sotu+wiki), NotNext B from another document of A's own source",
    )  # fmt: skip
    similar_negatives: float = setting(
        0.0, "Similar negatives", low=0, high=1, group="advanced",
        help="share of NotNext B from one of the 10 documents most like A's",
    )  # fmt: skip
    short_seq_prob: float = setting(
        0.1, "Short sequence share", low=0, high=1, group="advanced", help="BERT's short_seq_prob"
    )

    @property
    def top_k(self) -> int | None:
        """K of train_what = "top-K", else None (ValueError when K is not a number)."""
        if self.train_what.startswith("top-"):
            return int(self.train_what.split("-", 1)[1])
        return None

    def problems(self) -> list[str]:
        """Every setting that cannot work, each as a sentence a student can act on."""
        return range_problems(self) + _rule_problems(self)

    def validate(self) -> TrainConfig:
        problems = self.problems()
        if problems:
            raise TrainConfigError(" ".join(problems))
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def scratch_heads(hidden: int) -> int:
    """About one head per 64 dimensions, as BERT: the largest count up to hidden // 64 that divides hidden."""
    heads = max(1, hidden // HEAD_SIZE)
    while hidden % heads:
        heads -= 1
    return heads


def train_what_parts(train_what: str) -> tuple[str, int | None]:
    """("top-K", K) for "top-K"-style values, else (train_what, None): the page's two widgets."""
    if train_what.startswith("top-") and train_what[4:].isdigit():
        return "top-K", int(train_what[4:])
    return train_what, None


def with_what_to_train(base: TrainConfig, choice: str, top_k: int, values: dict[str, Any]) -> TrainConfig:
    """The page's settings: `values` on `base`, with what-to-train's rules applied.

    Scratch-only settings count only for scratch (a pretrained model keeps its size and trains NSP alone),
    a scratch model learns its own word embeddings, and its head count follows its hidden size.
    """
    what = f"top-{int(top_k)}" if choice == "top-K" else choice
    config = replace(base, **values, train_what=what)
    if what != "scratch":
        return replace(config, mlm_too=False)
    return replace(config, freeze_word_embeddings=False, scratch_heads=scratch_heads(config.scratch_hidden))


def _top_k_ok(config: TrainConfig) -> bool:
    try:
        return (config.top_k or 0) >= 1
    except ValueError:
        return False


def _rule_problems(config: TrainConfig) -> list[str]:
    """The checks that involve more than one setting's own range."""
    out = []
    for name in ("lr", "head_lr"):
        value = getattr(config, name)
        if isinstance(value, (int, float)) and value > MAX_LR:
            out.append(f"Learning rate {name}={value:g} is absurdly large: BERT fine-tuning uses 1e-5 to 1e-3.")
    if config.train_what not in ("head", "pooler", "full", "scratch") and not _top_k_ok(config):
        out.append(
            "What to train must be head, pooler, top-K (K a number, e.g. top-2), full or scratch "
            f"(got {config.train_what!r})."
        )
    if config.train_what == "scratch":
        if config.scratch_heads >= 1 and config.scratch_hidden % config.scratch_heads:
            out.append(
                f"Scratch hidden size ({config.scratch_hidden}) must be divisible by the number "
                f"of attention heads ({config.scratch_heads})."
            )
        if config.freeze_word_embeddings:
            out.append("A model from scratch must learn its word embeddings: do not freeze them.")
    elif config.mlm_too:
        out.append("MLM + NSP training is only offered for a tiny BERT from scratch (train: scratch).")
    if config.extra_corpus and not known_corpus_name(config.extra_corpus):
        out.append(f"Extra training corpus {config.extra_corpus!r} is not a known corpus name (e.g. kjv, or sotu+kjv).")
    elif config.extra_corpus:
        shared = sorted(set(corpus_parts(config.corpus)) & set(corpus_parts(config.extra_corpus)))
        if shared:
            out.append(
                f"The extra training corpus repeats {', '.join(shared)} from the corpus "
                f"{config.corpus or 'default'!r}: its held-out documents would be trained on. "
                "Add only text that is not in the corpus."
            )
    return out


# Tuned on 2 CPU cores (see bench/results/training_attempts.md for what each choice bought).
# BERT's own chunks cut to 32 tokens: per step they teach more than single sentences at the same cost.
# Batches of 16 with twice the steps learn more per second than 32; a 15% warmup keeps the fresh head
# from kicking the encoder in the first steps. The whole encoder learns (a frozen encoder stays near 59%),
# but the word embeddings stay fixed, which halves the optimizer's work; the fresh head gets ~7x the lr.
# No dropout: in a one-minute run it only slows learning. 512 held-out pairs keep accuracy within ~2%.
# The schedule is fitted to the minute, so a slower machine gets a whole, shorter run (time_fit.py).
QUICK_DEMO = TrainConfig(
    steps=600,
    batch_size=16,
    lr=1.5e-4,
    head_lr=1e-3,
    warmup=0.15,
    max_length=32,
    mode="bert",
    train_what="full",
    freeze_word_embeddings=True,
    dropout=0.0,
    eval_every=100,
    eval_pairs=512,
    max_seconds=60.0,
    fit_to_time=True,
)
PRESETS: dict[str, TrainConfig] = {
    "quick demo": QUICK_DEMO,
    # Longer chunks give B more context to judge by; ten minutes of batches of 32.
    "longer run": replace(
        QUICK_DEMO,
        steps=1500,
        batch_size=32,
        lr=1e-4,
        warmup=0.05,
        max_length=64,
        eval_every=150,
        max_seconds=600.0,
        fit_to_time=False,
    ),
    "tiny from scratch": TrainConfig(
        steps=300,
        batch_size=32,
        lr=1e-3,
        warmup=0.1,
        max_length=64,
        mode="sentences",
        train_what="scratch",
        scratch_layers=2,
        scratch_hidden=128,
        scratch_heads=2,
        mlm_too=True,
        eval_every=25,
        eval_pairs=256,
    ),
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    if name not in PRESETS:
        raise TrainConfigError(f"Unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    return replace(PRESETS[name], **overrides)
