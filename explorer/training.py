"""The one NSP training loop, used by the app (in a background thread) and by `python -m explorer train`.

A run is: settings (TrainConfig) -> a corpus split by document into train / held-out -> a model whose
chosen parts are trainable -> steps of [CLS] A [SEP] B [SEP] batches with cross_entropy on the NSP
logits (plus MLM for a tiny BERT from scratch, as BERT pretraining adds them) -> events the caller
draws or prints. The loop knows nothing of Streamlit; the caller decides what to do with each event.

    trainer = Trainer(config)                  # loads model + corpus, builds the fixed held-out set
    for event in trainer.run(stop_event):      # StartEvent, StepEvent..., EvalEvent..., EndEvent
        ...
    save_checkpoint(trainer.model, trainer.tokenizer, out_dir, config, trainer.log)
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForPreTraining

from explorer.encoding import MIN_MAX_LENGTH, pair_layout
from explorer.labels import CHANCE_LOSS, binary_entropy
from explorer.models import BUNDLED_UNTRAINED, load_model
from explorer.nsp import pad_batch

TRAIN_CHOICES = ("head", "pooler", "top-K", "full", "scratch")
MODES = ("bert", "sentences", "sop")
BF16_CHOICES = ("auto", "on", "off")
MAX_STEPS = 100_000
MAX_BATCH = 1024
MAX_SEED = 2**32 - 1  # numpy's and torch's seeds both take this range
MAX_LR = 1.0  # anything above this makes AdamW diverge at once on BERT; it is a typo, not a setting
MAX_POSITIONS = 512  # BERT's position embeddings
MLM_MASK_SHARE = 0.15  # BERT masks 15% of tokens: 80% [MASK], 10% random token, 10% unchanged
IGNORE = -100  # label value cross_entropy skips (HF convention)


class TrainConfigError(ValueError):
    """Settings that cannot train; the message says which setting and what would work."""


@dataclass
class TrainConfig:
    steps: int = 200
    batch_size: int = 32
    lr: float = 5e-5  # the encoder (and embeddings) learning rate
    head_lr: float | None = None  # pooler + NSP head; None: same as lr. A fresh head learns faster with more
    warmup: float = 0.1  # share of the steps with linear warmup, then linear decay to 0
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # BERT clips the global gradient norm at 1.0; 0 turns it off
    max_length: int = 128
    seed: int = 0
    not_next_share: float = 0.5
    mode: str = "bert"  # how pairs are built: BERT chunks, single sentences, or sentence order (SOP)
    train_what: str = "full"  # head | pooler | top-K (e.g. top-2) | full | scratch
    scratch_layers: int = 2
    scratch_hidden: int = 128
    scratch_heads: int = 2
    mlm_too: bool = False  # scratch only: total loss = MLM + NSP, as in BERT pretraining
    # Half of MiniLM's weights are the 30,522 x 384 word embeddings: freezing them halves the optimizer's work
    # and drops a dense gradient, while the pretrained vocabulary stays as it is.
    freeze_word_embeddings: bool = False
    dropout: float | None = None  # None keeps the model's own dropout
    eval_every: int = 50
    eval_pairs: int = 256
    eval_batch_size: int = 64
    heldout_fraction: float = 0.1
    bf16: str = "auto"  # bf16 autocast: auto uses it where the hardware runs it natively
    device: str = "auto"
    base_model: str = BUNDLED_UNTRAINED  # model source (see explorer.models); tokenizer source for scratch
    corpus: str = "default"
    # Training-only text: a named corpus whose documents join the training side of the split and are never
    # held out, so adding a source leaves the held-out documents of `corpus` (and their curve) unchanged.
    extra_corpus: str = ""
    max_seconds: float | None = None  # stop (as finished) after this much training time
    hard_negatives: bool | float = False  # share of NotNext B taken from A's own document (True = all)
    same_source_negatives: bool = False  # in a corpus mixture, NotNext B from another document of A's source
    similar_negatives: float = 0.0  # share of NotNext B from one of the documents most like A's
    short_seq_prob: float = 0.1

    @property
    def top_k(self) -> int | None:
        if self.train_what.startswith("top-"):
            return int(self.train_what.split("-", 1)[1])
        return None

    def problems(self) -> list[str]:
        """Every setting that cannot work, each as a sentence a student can act on."""
        out = []
        if not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            out.append(f"Steps must be a whole number from 1 to {MAX_STEPS:,} (got {self.steps}).")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= MAX_BATCH:
            out.append(f"Batch size must be from 1 to {MAX_BATCH} pairs (got {self.batch_size}).")
        for name in ("lr", "head_lr"):
            value = getattr(self, name)
            if value is None and name == "head_lr":
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                out.append(f"Learning rate {name} must be a positive number (got {value}).")
            elif value > MAX_LR:
                out.append(f"Learning rate {name}={value:g} is absurdly large: BERT fine-tuning uses 1e-5 to 1e-3.")
        if not 0.0 <= self.warmup < 1.0:
            out.append(f"Warmup is a share of the steps, from 0 up to (not including) 1 (got {self.warmup}).")
        if not isinstance(self.max_length, int) or not MIN_MAX_LENGTH <= self.max_length <= MAX_POSITIONS:
            out.append(
                f"Max sequence length must be from {MIN_MAX_LENGTH} to {MAX_POSITIONS} tokens: BERT has "
                f"{MAX_POSITIONS} position embeddings (got {self.max_length})."
            )
        if not 0.0 <= float(self.hard_negatives) <= 1.0:
            out.append(f"Hard negatives is a share of the NotNext pairs, from 0 to 1 (got {self.hard_negatives}).")
        if not 0.0 <= float(self.similar_negatives) <= 1.0:
            out.append(
                f"Similar negatives is a share of the NotNext pairs, from 0 to 1 (got {self.similar_negatives})."
            )
        if not 0.0 <= self.short_seq_prob <= 1.0:
            out.append(f"Short sequence probability must lie between 0 and 1 (got {self.short_seq_prob}).")
        if not 0.0 < self.not_next_share < 1.0:
            out.append(f"NotNext share must lie strictly between 0 and 1 (got {self.not_next_share}).")
        if self.mode not in MODES:
            out.append(f"Pair mode must be one of {', '.join(MODES)} (got {self.mode!r}).")
        if self.train_what not in ("head", "pooler", "full", "scratch") and not self._top_k_ok():
            out.append(
                f"What to train must be head, pooler, top-K (K a number, e.g. top-2), full or scratch (got {self.train_what!r})."
            )
        if self.train_what == "scratch":
            if not 1 <= self.scratch_layers <= 12:
                out.append(f"A scratch model needs 1 to 12 layers (got {self.scratch_layers}).")
            if self.scratch_heads < 1 or self.scratch_hidden < 8 or self.scratch_hidden % self.scratch_heads:
                out.append(
                    f"Scratch hidden size ({self.scratch_hidden}) must be at least 8 and divisible by the number "
                    f"of attention heads ({self.scratch_heads})."
                )
        elif self.mlm_too:
            out.append("MLM + NSP training is only offered for a tiny BERT from scratch (train: scratch).")
        if self.freeze_word_embeddings and self.train_what == "scratch":
            out.append("A model from scratch must learn its word embeddings: do not freeze them.")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            out.append(f"Dropout must lie in [0, 1) (got {self.dropout}).")
        if not isinstance(self.eval_every, int) or self.eval_every < 1:
            out.append(f"Evaluate every must be at least 1 step (got {self.eval_every}).")
        if not isinstance(self.eval_pairs, int) or not 2 <= self.eval_pairs <= 20_000:
            out.append(f"Held-out pairs must be from 2 to 20,000 (got {self.eval_pairs}).")
        if not isinstance(self.eval_batch_size, int) or not 1 <= self.eval_batch_size <= MAX_BATCH:
            out.append(f"Evaluation batch size must be from 1 to {MAX_BATCH} pairs (got {self.eval_batch_size}).")
        if not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            out.append(f"Seed must be a whole number from 0 to {MAX_SEED:,} (got {self.seed}).")
        if not 0.0 < self.heldout_fraction <= 0.5:
            out.append(f"Held-out share of documents must be above 0 and at most 0.5 (got {self.heldout_fraction}).")
        if self.bf16 not in BF16_CHOICES:
            out.append(f"bf16 must be auto, on or off (got {self.bf16!r}).")
        if self.extra_corpus and not _known_corpus(self.extra_corpus):
            out.append(
                f"Extra training corpus {self.extra_corpus!r} is not a known corpus name (e.g. kjv, or sotu+kjv)."
            )
        if self.max_seconds is not None and not self.max_seconds > 0:  # NaN too
            out.append(f"Time limit must be positive (got {self.max_seconds}).")
        if not 0.0 <= self.weight_decay < 1.0 or not 0 <= self.grad_clip < math.inf:
            out.append("Weight decay must lie in [0, 1) and gradient clipping must be a finite number, 0 or more.")
        return out

    def _top_k_ok(self) -> bool:
        try:
            return self.train_what.startswith("top-") and self.top_k >= 1
        except ValueError:
            return False

    def validate(self) -> TrainConfig:
        problems = self.problems()
        if problems:
            raise TrainConfigError(" ".join(problems))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# Tuned on 2 CPU cores (see bench/results/training_attempts.md for what each choice bought).
PRESETS: dict[str, TrainConfig] = {
    # Single sentences at 32 tokens are cheap; the whole encoder learns (a frozen encoder stays near 59%),
    # but the word embeddings stay fixed, which halves the optimizer's work; the fresh head gets ~10x the lr.
    # No dropout: in a one-minute run it only slows learning. 512 held-out pairs keep accuracy within ~2%.
    "quick demo": TrainConfig(
        steps=300,
        batch_size=32,
        lr=1.5e-4,
        head_lr=1e-3,
        warmup=0.05,
        max_length=32,
        mode="sentences",
        train_what="full",
        freeze_word_embeddings=True,
        dropout=0.0,
        eval_every=100,
        eval_pairs=512,
        max_seconds=60.0,
    ),
    # BERT's chunks give B more context to judge by; ten minutes of the same recipe.
    "longer run": TrainConfig(
        steps=1500,
        batch_size=32,
        lr=1e-4,
        head_lr=1e-3,
        warmup=0.05,
        max_length=64,
        mode="bert",
        train_what="full",
        freeze_word_embeddings=True,
        dropout=0.0,
        eval_every=150,
        eval_pairs=512,
        max_seconds=600.0,
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


def preset(name: str, **overrides) -> TrainConfig:
    if name not in PRESETS:
        raise TrainConfigError(f"Unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    return replace(PRESETS[name], **overrides)


# --- events: what the loop reports ------------------------------------------------------------------


@dataclass
class Event:
    kind = "event"

    def to_dict(self) -> dict:
        data = {"kind": self.kind}
        data.update({f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")})
        return data


@dataclass
class StartEvent(Event):
    total_steps: int
    device: str
    bf16: bool
    trainable_params: int
    total_params: int
    train_documents: int
    heldout_documents: int
    eval_pairs: int
    chance_loss: float  # best loss of a constant guess: H(NotNext share), ln 2 at 50/50
    kind = "start"


@dataclass
class StepEvent(Event):
    step: int
    loss: float  # the loss that was minimised (NSP, or MLM + NSP)
    lr: float  # encoder learning rate at this step
    elapsed: float  # seconds since the first step began, evaluations included
    steps_per_s: float  # training steps only, evaluation time excluded
    nsp_loss: float | None = None
    mlm_loss: float | None = None
    kind = "step"


@dataclass
class EvalEvent(Event):
    step: int
    heldout_loss: float
    accuracy: float
    elapsed: float
    kind = "eval"


@dataclass
class EndEvent(Event):
    status: str  # finished | stopped | error
    step: int
    elapsed: float
    message: str = ""
    kind = "end"


# --- data: corpus -> split by document -> pairs -> tensors --------------------------------------------


def load_training_corpus(name: str):
    """The corpus a run samples from (tests swap in a synthetic one by passing corpus= to Trainer)."""
    from explorer import corpus as corpus_module

    if name in ("", "default"):
        return corpus_module.load_default_corpus()
    return corpus_module.load_corpus(name)


def _known_corpus(name: str) -> bool:
    from explorer.corpus import CORPORA

    return all(part in CORPORA for part in name.split("+"))


def with_extra_documents(train_part, config: TrainConfig):
    """The training side of the split plus the documents of config.extra_corpus (none of them held out)."""
    if not config.extra_corpus:
        return train_part
    from explorer.corpus import combine, load_corpus

    return combine([train_part, load_corpus(config.extra_corpus)])


def split_corpus(corpus, config: TrainConfig):
    """Train / held-out corpora with no document in common; refuse corpora too small to split."""
    from explorer.corpus import split_by_document

    n_docs = len(corpus.documents)
    # NotNext needs a second document on each side, so each side needs at least two.
    if n_docs < 4:
        raise TrainConfigError(
            f"The corpus {getattr(corpus, 'name', '')!r} has {n_docs} document(s): training needs at least 4, so that "
            "held-out pairs come from documents never seen in training and NotNext sentences come from another document."
        )
    train_part, heldout_part = split_by_document(corpus, config.heldout_fraction, config.seed)
    if len(train_part.documents) < 2 or len(heldout_part.documents) < 2:
        raise TrainConfigError(
            f"Splitting {n_docs} documents with held-out share {config.heldout_fraction} leaves "
            f"{len(train_part.documents)} for training and {len(heldout_part.documents)} held out; each side needs "
            "at least 2. Raise the held-out share or use a larger corpus."
        )
    return train_part, heldout_part


def make_sampler(corpus, tokenizer, config: TrainConfig, seed: int):
    from explorer.sampling import PairSampler

    return PairSampler(
        corpus,
        tokenizer,
        mode=config.mode,
        max_length=config.max_length,
        not_next_share=config.not_next_share,
        hard_negatives=config.hard_negatives,
        short_seq_prob=config.short_seq_prob,
        seed=seed,
        same_source_negatives=config.same_source_negatives,
        similar_negatives=config.similar_negatives,
    )


def pairs_to_batch(pairs, tokenizer) -> dict[str, torch.Tensor]:
    """[CLS] A [SEP] B [SEP] with segments 0/1, right-padded; labels 0 = IsNext, 1 = NotNext."""
    layouts = [pair_layout(tokenizer.cls_token_id, tokenizer.sep_token_id, pair.a_ids, pair.b_ids) for pair in pairs]
    batch = pad_batch([ids for ids, _ in layouts], [segments for _, segments in layouts], tokenizer.pad_token_id)
    batch["labels"] = torch.tensor([int(pair.label) for pair in pairs], dtype=torch.long)
    return batch


def mask_for_mlm(
    batch: dict[str, torch.Tensor], tokenizer, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: 15% of real tokens are predicted; of those 80% -> [MASK], 10% random, 10% kept."""
    ids = batch["input_ids"]
    special = (ids == tokenizer.cls_token_id) | (ids == tokenizer.sep_token_id) | (batch["attention_mask"] == 0)
    chosen = (torch.rand(ids.shape, generator=generator) < MLM_MASK_SHARE) & ~special
    mlm_labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    roll = torch.rand(ids.shape, generator=generator)
    masked_ids = ids.clone()
    masked_ids[chosen & (roll < 0.8)] = tokenizer.mask_token_id
    random_slot = chosen & (roll >= 0.8) & (roll < 0.9)
    masked_ids[random_slot] = torch.randint(len(tokenizer), ids.shape, generator=generator)[random_slot]
    return masked_ids, mlm_labels


# --- model: what is trained -----------------------------------------------------------------------------


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


def trainable_groups(model, config: TrainConfig) -> list[dict]:
    """Freeze what is not trained and return optimizer parameter groups (encoder lr vs pooler + head lr)."""
    for p in model.parameters():
        p.requires_grad_(False)
    bert = model.bert
    head_params = list(model.cls.parameters())
    pooler_params = list(bert.pooler.parameters()) if bert.pooler is not None else []
    layers = bert.encoder.layer
    what = config.train_what
    if what == "head":
        encoder_params = []
        pooler_params_trained = []
    elif what == "pooler":
        encoder_params, pooler_params_trained = [], pooler_params
    elif config.top_k is not None:
        k = config.top_k
        if k > len(layers):
            raise TrainConfigError(f"top-{k} asks for more layers than the model has ({len(layers)}).")
        encoder_params = [p for layer in layers[-k:] for p in layer.parameters()]
        pooler_params_trained = pooler_params
    else:  # full or scratch: everything
        head_ids = {id(p) for p in head_params + pooler_params}
        encoder_params = [p for p in model.parameters() if id(p) not in head_ids]
        pooler_params_trained = pooler_params
    if config.freeze_word_embeddings:
        frozen = bert.embeddings.word_embeddings.weight
        encoder_params = [p for p in encoder_params if p is not frozen]
    head_lr = config.head_lr if config.head_lr is not None else config.lr
    groups = []
    for params, lr in ((encoder_params, config.lr), (pooler_params_trained + head_params, head_lr)):
        if not params:
            continue
        for p in params:
            p.requires_grad_(True)
        # As in BERT, biases and LayerNorm weights (1-d tensors) are not decayed.
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        groups.append({"params": decay, "lr": lr, "weight_decay": config.weight_decay})
        groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    return [g for g in groups if g["params"]]


def warmup_then_linear_decay(total_steps: int, warmup_share: float):
    warmup_steps = int(round(total_steps * warmup_share))

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


def chance_text(chance_loss: float, digits: int = 3) -> str:
    """'ln 2 = 0.693' at a 50/50 NotNext share, else 'H(q) = ...': the chance loss is ln 2 only at q = 1/2."""
    name = "ln 2" if abs(chance_loss - CHANCE_LOSS) < 1e-9 else "H(q)"
    return f"{name} = {chance_loss:.{digits}f}"


def moving_average(values: list[float], window: int = 20) -> list[float]:
    """Trailing mean over up to `window` values, so the curve starts at the first step."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


# --- the loop --------------------------------------------------------------------------------------------


class Trainer:
    """Sets up one run (model, corpus split, fixed held-out set); `run()` then yields its events."""

    def __init__(self, config: TrainConfig, corpus=None):
        self.config = config.validate()
        self.log: list[dict] = []
        self.step = 0
        torch.manual_seed(config.seed)
        if config.train_what == "scratch":
            base = load_model(config.base_model, config.device)
            self.tokenizer = base.tokenizer
            self.device = base.device
            del base
            torch.manual_seed(config.seed)
            self.model = build_scratch_model(config, len(self.tokenizer)).to(self.device)
        else:
            loaded = load_model(config.base_model, config.device)
            self.model, self.tokenizer, self.device = loaded.model, loaded.tokenizer, loaded.device
            if config.max_length > loaded.max_positions:
                raise TrainConfigError(
                    f"Max sequence length {config.max_length} exceeds this model's {loaded.max_positions} positions."
                )
        if config.dropout is not None:
            for module in self.model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = config.dropout
        self.groups = trainable_groups(self.model, config)
        self.use_bf16 = config.bf16 == "on" or (config.bf16 == "auto" and bf16_supported(self.device))
        corpus = corpus if corpus is not None else load_training_corpus(config.corpus)
        self.train_corpus, self.heldout_corpus = split_corpus(corpus, config)
        self.train_corpus = with_extra_documents(self.train_corpus, config)
        self.sampler = make_sampler(self.train_corpus, self.tokenizer, config, seed=config.seed)
        # A fixed held-out set per run: the same pairs at every evaluation, so the curve shows learning, not luck.
        heldout_sampler = make_sampler(self.heldout_corpus, self.tokenizer, config, seed=config.seed + 1_000_003)
        # Tokenise every sentence now (seconds for the default corpus), not lazily inside the timed steps.
        for sampler in (self.sampler, heldout_sampler):
            table = getattr(sampler, "table", None)
            if table is not None:
                table.ensure_all()
        self.heldout_pairs = heldout_sampler.sample_many(config.eval_pairs)
        pairs, size = self.heldout_pairs, config.eval_batch_size
        self.eval_batches = [
            {k: v.to(self.device) for k, v in pairs_to_batch(pairs[i : i + size], self.tokenizer).items()}
            for i in range(0, len(pairs), size)
        ]
        self.mlm_generator = torch.Generator().manual_seed(config.seed)

    @property
    def is_pretraining_model(self) -> bool:
        return isinstance(self.model, BertForPreTraining)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16)

    def _losses(self, batch: dict[str, torch.Tensor], mlm_labels: torch.Tensor | None):
        """(total, nsp, mlm) losses of a batch, read off the real BERT modules."""
        inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
        if not self.is_pretraining_model:
            logits = self.model(**inputs).logits
            nsp = F.cross_entropy(logits.float(), batch["labels"])
            return nsp, nsp, None, logits
        out = self.model.bert(**inputs)
        logits = self.model.cls.seq_relationship(out.pooler_output)
        nsp = F.cross_entropy(logits.float(), batch["labels"])
        if mlm_labels is None:
            return nsp, nsp, None, logits
        # Predict only at masked positions: the vocabulary projection at every position would dominate the cost.
        chosen = mlm_labels != IGNORE
        token_logits = self.model.cls.predictions(out.last_hidden_state[chosen])
        mlm = F.cross_entropy(token_logits.float(), mlm_labels[chosen]) if chosen.any() else nsp * 0.0
        return nsp + mlm, nsp, mlm, logits

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Mean cross_entropy and argmax accuracy of NSP on the fixed held-out pairs."""
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        count = 0
        with self._autocast():
            for batch in self.eval_batches:
                _, nsp, _, logits = self._losses(batch, None)
                n = batch["labels"].numel()
                loss_sum += nsp.float() * n
                correct += (logits.argmax(-1) == batch["labels"]).sum()
                count += n
        self.model.train()
        return float(loss_sum) / count, float(correct) / count

    def _next_batch(self):
        batch = pairs_to_batch(self.sampler.sample_many(self.config.batch_size), self.tokenizer)
        mlm_labels = None
        if self.config.mlm_too:
            batch["input_ids"], mlm_labels = mask_for_mlm(batch, self.tokenizer, self.mlm_generator)
            mlm_labels = mlm_labels.to(self.device, non_blocking=True)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}, mlm_labels

    def run(self, stop_event: threading.Event | None = None) -> Iterator[Event]:
        """Train, yielding events; a stop request or an error ends the run with an EndEvent, keeping the log."""
        config = self.config
        stop_event = stop_event or threading.Event()
        optimizer = torch.optim.AdamW(self.groups, lr=config.lr)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then_linear_decay(config.steps, config.warmup))
        trainable = [p for g in self.groups for p in g["params"]]
        # On a GPU, reading a loss (.item()) waits for the GPU; collect losses and read them in bunches.
        flush_every = 1 if self.device.type == "cpu" else 10
        torch.manual_seed(config.seed)  # dropout masks: same seed, same curve
        self.model.train()

        def emit(event: Event) -> Event:
            self.log.append(event.to_dict())
            return event

        yield emit(
            StartEvent(
                total_steps=config.steps,
                device=str(self.device),
                bf16=self.use_bf16,
                trainable_params=sum(p.numel() for p in trainable),
                total_params=sum(p.numel() for p in self.model.parameters()),
                train_documents=len(self.train_corpus.documents),
                heldout_documents=len(self.heldout_corpus.documents),
                eval_pairs=sum(b["labels"].numel() for b in self.eval_batches),
                chance_loss=binary_entropy(config.not_next_share),  # ln 2 for a 50/50 prior
            )
        )
        start = time.perf_counter()
        eval_seconds = 0.0
        pending: list[tuple[int, float, torch.Tensor]] = []  # (step, lr, stacked losses) not yet read

        def flush() -> Iterator[Event]:
            if not pending:
                return
            values = torch.stack([losses for _, _, losses in pending]).float().cpu().tolist()
            now = time.perf_counter() - start
            rate = self.step / max(1e-9, now - eval_seconds)
            for (step, lr, _), (total, nsp, mlm) in zip(pending, values):
                mlm_value = mlm if config.mlm_too else None
                nsp_value = nsp if config.mlm_too else None
                yield emit(StepEvent(step, total, lr, now, rate, nsp_loss=nsp_value, mlm_loss=mlm_value))
            pending.clear()

        def run_eval() -> Event:
            nonlocal eval_seconds
            t0 = time.perf_counter()
            loss, accuracy = self.evaluate()
            eval_seconds += time.perf_counter() - t0
            return emit(EvalEvent(self.step, loss, accuracy, time.perf_counter() - start))

        status, message = "finished", ""
        try:
            yield run_eval()  # step 0: where the curve starts (near ln 2 for an untrained head)
            eval_seconds = 0.0  # the starting evaluation is not part of the training time
            start = time.perf_counter()
            while self.step < config.steps:
                if stop_event.is_set():
                    status, message = "stopped", f"Stopped at step {self.step}."
                    break
                if config.max_seconds is not None and time.perf_counter() - start >= config.max_seconds:
                    message = f"Time limit of {config.max_seconds:g} s reached at step {self.step}."
                    break
                batch, mlm_labels = self._next_batch()
                with self._autocast():
                    total, nsp, mlm, _ = self._losses(batch, mlm_labels)
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                if config.grad_clip:
                    torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
                lr = optimizer.param_groups[0]["lr"]  # the first group is the encoder's (or the head's if alone)
                optimizer.step()
                schedule.step()
                self.step += 1
                mlm_part = mlm.detach() if mlm is not None else torch.zeros((), device=self.device)
                pending.append(
                    (self.step, lr, torch.stack([total.detach().float(), nsp.detach().float(), mlm_part.float()]))
                )
                if len(pending) >= flush_every:
                    yield from flush()
                if self.step % config.eval_every == 0 and self.step < config.steps:
                    yield from flush()
                    yield run_eval()
        except Exception as err:
            status = "error"
            if isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower():
                message = f"Out of memory at step {self.step + 1}: lower the batch size or max sequence length. ({err})"
            else:
                message = f"Training failed at step {self.step + 1}: {err.__class__.__name__}: {err}"
            pending.clear()
        if status != "error":
            yield from flush()
            if self.step > 0 and (
                not self.log or self.log[-1].get("kind") != "eval" or self.log[-1]["step"] != self.step
            ):
                try:
                    yield run_eval()
                except Exception as err:
                    status, message = "error", f"Final evaluation failed: {err.__class__.__name__}: {err}"
        self.model.eval()
        yield emit(EndEvent(status, self.step, time.perf_counter() - start, message))


# --- checkpoint -----------------------------------------------------------------------------------------

LOG_COLUMNS = (
    "kind",
    "step",
    "loss",
    "nsp_loss",
    "mlm_loss",
    "lr",
    "elapsed",
    "steps_per_s",
    "heldout_loss",
    "accuracy",
)


def _write_log(log: list[dict], handle) -> None:
    writer = csv.DictWriter(handle, fieldnames=LOG_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in log:
        if row.get("kind") in ("step", "eval"):
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in LOG_COLUMNS})


def write_log_csv(log: list[dict], path) -> None:
    with open(path, "w", newline="") as handle:
        _write_log(log, handle)


def log_csv_text(log: list[dict]) -> str:
    """The training log as CSV text (the app's download button)."""
    buffer = io.StringIO()
    _write_log(log, buffer)
    return buffer.getvalue()


def summarize_log(log: list[dict]) -> dict:
    evals = [row for row in log if row.get("kind") == "eval"]
    steps = [row for row in log if row.get("kind") == "step"]
    end = next((row for row in reversed(log) if row.get("kind") == "end"), {})
    return {
        "steps_done": steps[-1]["step"] if steps else 0,
        "status": end.get("status"),
        "message": end.get("message"),
        "elapsed_s": end.get("elapsed"),
        "final_train_loss": steps[-1]["loss"] if steps else None,
        "initial_heldout_loss": evals[0]["heldout_loss"] if evals else None,
        "initial_heldout_accuracy": evals[0]["accuracy"] if evals else None,
        "final_heldout_loss": evals[-1]["heldout_loss"] if evals else None,
        "final_heldout_accuracy": evals[-1]["accuracy"] if evals else None,
    }


def save_checkpoint(model, tokenizer, out_dir, config: TrainConfig, log: list[dict]) -> Path:
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


def checkpoint_zip(folder) -> bytes:
    """The checkpoint folder as one zip (the app's download button); files sit in a folder named after the run."""
    folder = Path(folder)
    buffer = io.BytesIO()
    # Weights barely compress, so store them; the zip then costs a copy, not minutes of CPU.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, arcname=f"{folder.name}/{path.relative_to(folder)}")
    return buffer.getvalue()
