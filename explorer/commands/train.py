"""`train`: run the same training loop as the app's Train tab, then save a checkpoint `score` can load.

Under `torchrun --nproc_per_node N -m explorer train ...` the N processes train one model together
(explorer.training.distributed): rank 0 prints the log and saves the checkpoint, `--batch-size` is the global batch.
"""

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
from explorer.sampling import Pair
from explorer.settings import add_arguments as add_setting_arguments
from explorer.settings import overrides_from_args
from explorer.training import (
    PRESETS,
    EndEvent,
    EvalEvent,
    Event,
    PlanEvent,
    StartEvent,
    StepEvent,
    TrainConfig,
    TrainConfigError,
    Trainer,
    chance_text,
    preset,
    save_checkpoint,
)
from explorer.training.distributed import World, process_group, training_device, world_from_environment

HELP = "Train the NSP head (or more) on sampled pairs and save a checkpoint."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="quick demo", choices=list(PRESETS), help="starting settings")
    # One flag per TrainConfig setting, from its declaration; a flag left out keeps the preset's value.
    add_setting_arguments(parser, TrainConfig)
    parser.add_argument("--no-time-limit", action="store_true", help="ignore the preset's time limit")
    parser.add_argument("--out", help="checkpoint folder (default: a new folder under the checkpoints dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per step and per evaluation")
    parser.add_argument(
        "--pairs-log",
        metavar="DIR",
        help="write DIR/pairs-rank<R>.jsonl: the pairs each process trained on, per step (to audit torchrun runs)",
    )


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
        if event.world_size > 1:
            print(
                f"{event.world_size} processes (torchrun), {event.batch_per_rank} pairs each per step: "
                f"global batch {event.batch_per_rank} x {event.world_size} = {event.global_batch}"
            )
    elif isinstance(event, PlanEvent):
        print(
            f"fitted to the time limit: {event.steps_per_s:.2f} steps/s, {event.seconds_per_eval:.1f} s per "
            f"evaluation -> {event.steps} steps with {event.evaluations} held-out evaluations on the way"
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


def _pairs_recorder(folder: str, world: World):
    """A recorder writing one JSON line per step: this rank's pairs, each by its place in the global batch."""
    path = Path(folder) / f"pairs-rank{world.rank}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "w")  # noqa: SIM115 - open for the whole run, closed by the caller

    def record(step: int, first: int, pairs: list[Pair]) -> None:
        rows = [{"index": first + i, "label": p.label, "a_ids": p.a_ids, "b_ids": p.b_ids} for i, p in enumerate(pairs)]
        handle.write(json.dumps({"step": step, "rank": world.rank, "pairs": rows}) + "\n")

    return record, handle


def _train(args: argparse.Namespace, config: TrainConfig, trainer: Trainer, world: World) -> EndEvent | None:
    """The loop, printing its events on rank 0 only (one log for the whole run)."""
    # Ctrl-C stops the run like the app's Stop button: the steps so far are still saved.
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    end = None
    try:
        for event in trainer.run(stop):
            if world.is_main and args.json:  # every line has "kind": start, step, eval or end
                print(json.dumps(event.to_dict()), flush=True)
            elif world.is_main:
                _print_human(event)
            if isinstance(event, EndEvent):
                end = event
    finally:
        signal.signal(signal.SIGINT, previous)
    return end


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
        world = world_from_environment()
        world.per_rank_batch(config.batch_size)  # before any process group: a clear message, not a hang
        device = training_device(world, config.device)
    except (TrainConfigError, ValueError) as err:
        raise CommandError(str(err)) from err
    with process_group(world, device):
        return _run_in_group(args, config, world)


def _run_in_group(args: argparse.Namespace, config: TrainConfig, world: World) -> int:
    record, handle = _pairs_recorder(args.pairs_log, world) if args.pairs_log else (None, None)
    try:
        try:
            trainer = Trainer(config, world=world, record_pairs=record)
        except (TrainConfigError, ModelLoadError, ValueError) as err:
            raise CommandError(str(err)) from err
        end = _train(args, config, trainer, world)
    finally:
        if handle is not None:
            handle.close()
    if trainer.step == 0:
        raise CommandError(end.message if end and end.message else "No training step ran, so nothing was saved.")
    if not world.is_main:  # rank 0 holds the same weights (DDP keeps the ranks in step) and saves them
        return 1 if end is not None and end.status == "error" else 0
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
