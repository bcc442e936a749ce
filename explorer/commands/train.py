"""`train`: run the same training loop as the app's Train tab, then save a checkpoint `score` can load."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from explorer.cli import CommandError
from explorer.models import ModelLoadError, checkpoints_dir
from explorer.settings import add_arguments as add_setting_arguments
from explorer.settings import overrides_from_args
from explorer.training import (
    PRESETS,
    EndEvent,
    EvalEvent,
    Event,
    StartEvent,
    StepEvent,
    TrainConfig,
    TrainConfigError,
    Trainer,
    chance_text,
    preset,
    save_checkpoint,
)

HELP = "Train the NSP head (or more) on sampled pairs and save a checkpoint."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="quick demo", choices=list(PRESETS), help="starting settings")
    # One flag per TrainConfig setting, from its declaration; a flag left out keeps the preset's value.
    add_setting_arguments(parser, TrainConfig)
    parser.add_argument("--no-time-limit", action="store_true", help="ignore the preset's time limit")
    parser.add_argument("--out", help="checkpoint folder (default: a new folder under the checkpoints dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per step and per evaluation")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    config = preset(args.preset, **overrides_from_args(args, TrainConfig))
    if args.no_time_limit:
        config = replace(config, max_seconds=None)
    return config.validate()


def _print_human(event: Event) -> None:
    if isinstance(event, StartEvent):
        print(
            f"training {event.trainable_params:,} of {event.total_params:,} parameters on {event.device}"
            f"{' (bf16 autocast)' if event.bf16 else ''}; {event.train_documents} training documents, "
            f"{event.heldout_documents} held out ({event.eval_pairs} held-out pairs); chance loss "
            f"{chance_text(event.chance_loss, 4)}"
        )
    elif isinstance(event, StepEvent) and (event.step % 10 == 0 or event.step == 1):
        print(
            f"step {event.step:5d}  loss {event.loss:.4f}  lr {event.lr:.2e}  {event.elapsed:6.1f} s  "
            f"{event.steps_per_s:.2f} steps/s"
        )
    elif isinstance(event, EvalEvent):
        print(f"  held-out  step {event.step:5d}  loss {event.heldout_loss:.4f}  accuracy {event.accuracy:.1%}")
    elif isinstance(event, EndEvent):
        print(f"{event.status} after {event.step} steps, {event.elapsed:.1f} s. {event.message}".rstrip())


def run(args: argparse.Namespace) -> int:
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
