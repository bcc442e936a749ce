"""Training benchmarks: our loop vs a plain PyTorch loop, and what the presets reach on this machine.

    .venv/bin/python bench/bench_training.py throughput   # steps/s, ours vs plain, side by side
    .venv/bin/python bench/bench_training.py quick        # "quick demo" preset, 60 s from the bundled MiniLM
    .venv/bin/python bench/bench_training.py longer       # "longer run" preset, 10 minutes

Each writes its section of bench/results/training.json (other sections are kept), with the machine load
(1-minute load average before and after) because the numbers mean little without it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
import torch.nn.functional as F

from explorer.labels import CHANCE_LOSS
from explorer.training import (
    EvalEvent,
    StepEvent,
    Trainer,
    pairs_to_batch,
    preset,
    trainable_groups,
)

RESULTS = Path(__file__).resolve().parent / "results" / "training.json"


def load() -> float:
    return os.getloadavg()[0]


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def save(section: str, data: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = data
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({section: data}, indent=2))


def plain_loop_step_times(trainer: Trainer, batches: list[dict]) -> list[float]:
    """The baseline: forward, cross_entropy, backward, optimizer step. Nothing else, same model and data."""
    model, config = trainer.model, trainer.config
    optimizer = torch.optim.AdamW(trainable_groups(model, config), lr=config.lr)
    model.train()
    times = []
    for batch in batches:
        t0 = time.perf_counter()
        with torch.autocast(trainer.device.type, dtype=torch.bfloat16, enabled=trainer.use_bf16):
            logits = model(
                input_ids=batch["input_ids"],
                token_type_ids=batch["token_type_ids"],
                attention_mask=batch["attention_mask"],
            ).logits
        loss = F.cross_entropy(logits.float(), batch["labels"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - t0)
    return times


def our_loop_step_times(trainer: Trainer, steps: int) -> list[float]:
    trainer.step = 0
    trainer.config.steps = steps
    last, times = None, []
    for event in trainer.run():
        if isinstance(event, StepEvent):
            if last is not None:
                times.append(event.elapsed - last)
            last = event.elapsed
    return times


def throughput(steps: int, rounds: int, bf16: str = "auto") -> None:
    """Alternate blocks of our loop and the plain loop, so a load change hits both alike; compare medians."""
    config = preset("quick demo", max_seconds=None, eval_every=10**9, steps=steps, eval_pairs=2, bf16=bf16)
    trainer = Trainer(config)
    # The plain loop gets the very batches our sampler makes (built ahead, outside its timing).
    batches = [pairs_to_batch(trainer.sampler.sample_many(config.batch_size), trainer.tokenizer) for _ in range(steps)]
    ours, plain = [], []
    load_before = load()
    our_loop_step_times(trainer, 3)  # warm-up: first oneDNN calls for each shape are slow
    plain_loop_step_times(trainer, batches[:3])
    for _ in range(rounds):
        ours += our_loop_step_times(trainer, steps)
        plain += plain_loop_step_times(trainer, batches)
    ours_s, plain_s = statistics.median(ours), statistics.median(plain)
    save(
        "throughput" if bf16 == "auto" else f"throughput_bf16_{bf16}",
        {
            "what": "steps/s, median over alternating blocks; our loop includes sampling, batching, grad clipping, "
            "lr schedule and logging; plain = forward + backward + AdamW step on pre-built batches",
            "settings": {
                "preset": "quick demo",
                "train_what": config.train_what,
                "batch_size": config.batch_size,
                "max_length": config.max_length,
                "mode": config.mode,
                "bf16": trainer.use_bf16,
                "steps_per_block": steps,
                "rounds": rounds,
            },
            "ours_steps_per_s": round(1 / ours_s, 3),
            "plain_steps_per_s": round(1 / plain_s, 3),
            "ratio_ours_over_plain": round(plain_s / ours_s, 3),
            "target_ratio": 0.95,
            "load_1min_before": round(load_before, 2),
            "load_1min_after": round(load(), 2),
            "machine": machine(),
        },
    )


def preset_run(section: str, name: str, **overrides) -> None:
    config = preset(name, **overrides)
    load_before = load()
    t0 = time.perf_counter()
    trainer = Trainer(config)
    setup = time.perf_counter() - t0
    evals, last_step = [], None
    for event in trainer.run():
        if isinstance(event, EvalEvent):
            evals.append(
                {
                    "step": event.step,
                    "heldout_loss": round(event.heldout_loss, 4),
                    "accuracy": round(event.accuracy, 4),
                    "elapsed_s": round(event.elapsed, 1),
                }
            )
            print(evals[-1], flush=True)
        elif isinstance(event, StepEvent):
            last_step = event
    final = evals[-1]
    assert last_step is not None, "the run made no step"
    save(
        section,
        {
            "preset": name,
            "config": config.to_dict(),
            "bf16": trainer.use_bf16,
            "setup_s": round(setup, 1),
            "steps_done": trainer.step,
            "train_seconds": round(last_step.elapsed, 1),
            "steps_per_s": round(last_step.steps_per_s, 3),
            "evals": evals,
            "final_heldout_loss": final["heldout_loss"],
            "final_heldout_accuracy": final["accuracy"],
            "chance_loss": round(CHANCE_LOSS, 4),
            "load_1min_before": round(load_before, 2),
            "load_1min_after": round(load(), 2),
            "machine": machine(),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["throughput", "quick", "longer"])
    parser.add_argument("--steps", type=int, default=15, help="throughput: steps per block")
    parser.add_argument("--rounds", type=int, default=3, help="throughput: blocks of each loop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bf16", default="auto", choices=["auto", "on", "off"], help="throughput: autocast setting")
    args = parser.parse_args()
    if args.what == "throughput":
        throughput(args.steps, args.rounds, args.bf16)
    elif args.what == "quick":
        preset_run("quick_demo", "quick demo", seed=args.seed)
    else:
        preset_run("longer_run", "longer run", seed=args.seed)


if __name__ == "__main__":
    main()
