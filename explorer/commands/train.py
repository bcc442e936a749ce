"""`train`: run the same training loop as the app's Train tab, then save a checkpoint `score` can load."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from explorer.cli import CommandError
from explorer.models import ModelLoadError, checkpoints_dir
from explorer.training import (
    BF16_CHOICES,
    MODES,
    PRESETS,
    EndEvent,
    EvalEvent,
    StartEvent,
    StepEvent,
    TrainConfigError,
    Trainer,
    chance_text,
    preset,
    save_checkpoint,
)

HELP = "Train the NSP head (or more) on sampled pairs and save a checkpoint."

# Command-line flag -> TrainConfig field, for the flags that override a preset only when given.
OVERRIDES = {
    "steps": "steps",
    "batch_size": "batch_size",
    "lr": "lr",
    "head_lr": "head_lr",
    "seed": "seed",
    "train": "train_what",
    "max_length": "max_length",
    "mode": "mode",
    "device": "device",
    "model": "base_model",
    "corpus": "corpus",
    "eval_every": "eval_every",
    "eval_pairs": "eval_pairs",
    "not_next_share": "not_next_share",
    "hard_negatives": "hard_negatives",
    "similar_negatives": "similar_negatives",
    "bf16": "bf16",
    "max_seconds": "max_seconds",
    "extra_corpus": "extra_corpus",
}


def add_arguments(parser) -> None:
    parser.add_argument("--preset", default="quick demo", choices=list(PRESETS), help="starting settings")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="encoder learning rate")
    parser.add_argument("--head-lr", type=float, help="pooler + NSP head learning rate")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--train", help="head | pooler | top-K (e.g. top-2) | full | scratch")
    parser.add_argument("--mlm", action="store_true", help="scratch only: train MLM + NSP together")
    parser.add_argument(
        "--freeze-word-embeddings",
        action="store_true",
        help="keep the pretrained word embeddings fixed (about half of MiniLM's weights)",
    )
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--mode", choices=list(MODES), help="pairs from BERT chunks, single sentences, or SOP")
    parser.add_argument("--not-next-share", type=float)
    parser.add_argument(
        "--hard-negatives",
        type=float,
        metavar="SHARE",
        help="share of NotNext pairs whose B comes from A's own document (not adjacent)",
    )
    parser.add_argument(
        "--same-source-negatives",
        action="store_true",
        help="in a corpus mixture (e.g. sotu+wiki), NotNext B from another document of A's own source",
    )
    parser.add_argument(
        "--similar-negatives",
        type=float,
        metavar="SHARE",
        help="share of NotNext pairs whose B comes from one of the 10 documents most like A's",
    )
    parser.add_argument("--eval-every", type=int)
    parser.add_argument("--eval-pairs", type=int)
    parser.add_argument("--bf16", choices=list(BF16_CHOICES))
    parser.add_argument("--max-seconds", type=float, help="stop after this much training time")
    parser.add_argument("--no-time-limit", action="store_true", help="ignore the preset's time limit")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "gpu", "mps"])
    parser.add_argument("--model", help="starting model: bundled model, local folder or hub id")
    parser.add_argument("--corpus", help="corpus name (default: the bundled corpus)")
    parser.add_argument(
        "--extra-corpus",
        metavar="NAME",
        help="training-only corpus (e.g. kjv): its documents are trained on and never held out",
    )
    parser.add_argument("--out", help="checkpoint folder (default: a new folder under the checkpoints dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per step and per evaluation")


def config_from_args(args):
    overrides = {field: getattr(args, flag) for flag, field in OVERRIDES.items() if getattr(args, flag) is not None}
    if args.freeze_word_embeddings:
        overrides["freeze_word_embeddings"] = True
    if args.mlm:
        overrides["mlm_too"] = True
    if args.same_source_negatives:
        overrides["same_source_negatives"] = True
    config = preset(args.preset, **overrides)
    if args.no_time_limit:
        config = replace(config, max_seconds=None)
    return config.validate()


def _print_human(event) -> None:
    if isinstance(event, StartEvent):
        print(
            f"training {event.trainable_params:,} of {event.total_params:,} parameters on {event.device}"
            f"{' (bf16 autocast)' if event.bf16 else ''}; {event.train_documents} training documents, "
            f"{event.heldout_documents} held out ({event.eval_pairs} held-out pairs); chance loss "
            f"{chance_text(event.chance_loss, 4)}"
        )
    elif isinstance(event, StepEvent) and (event.step % 10 == 0 or event.step == 1):
        print(
            f"step {event.step:5d}  loss {event.loss:.4f}  lr {event.lr:.2e}  {event.elapsed:6.1f} s  {event.steps_per_s:.2f} steps/s"
        )
    elif isinstance(event, EvalEvent):
        print(f"  held-out  step {event.step:5d}  loss {event.heldout_loss:.4f}  accuracy {event.accuracy:.1%}")
    elif isinstance(event, EndEvent):
        print(f"{event.status} after {event.step} steps, {event.elapsed:.1f} s. {event.message}".rstrip())


def run(args) -> int:
    try:
        config = config_from_args(args)
        trainer = Trainer(config)
    except (TrainConfigError, ModelLoadError, ValueError) as err:
        raise CommandError(str(err)) from err
    # Ctrl-C stops the run like the app's Stop button: the steps so far are still saved.
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    end = None
    try:
        for event in trainer.run(stop):
            if args.json:  # every line has "kind": start, step, eval or end
                print(json.dumps(event.to_dict()), flush=True)
            else:
                _print_human(event)
            if isinstance(event, EndEvent):
                end = event
    finally:
        signal.signal(signal.SIGINT, previous)
    if trainer.step == 0:
        raise CommandError(end.message if end and end.message else "No training step ran, so nothing was saved.")
    out = Path(args.out) if args.out else checkpoints_dir() / time.strftime("cli-%Y%m%d-%H%M%S")
    try:
        save_checkpoint(trainer.model, trainer.tokenizer, out, config, trainer.log)
    except OSError as err:
        raise CommandError(f"Cannot write the checkpoint to {out}: {err.strerror or err}.") from None
    where = f"checkpoint saved to {out} (use: python -m explorer score A B --model {out})"
    print(where, file=sys.stderr if args.json else sys.stdout)
    if end is not None and end.status == "error":
        print(f"error: {end.message}", file=sys.stderr)
        return 1
    return 0
