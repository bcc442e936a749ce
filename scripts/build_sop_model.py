"""Build the shipped sentence-order (SOP) model (explorer/data/minilm_sop), by measurement.

    .venv/bin/python scripts/build_sop_model.py --device cuda --start nsp   # minutes on a GPU
    .venv/bin/python scripts/build_sop_model.py --final DIR                 # export a run trained elsewhere

What it trains is data in recipes/minilm_sop.toml. Every step uses the project's own code:
1. sweep: a short run from each start (the shipped NSP model, and the bundled encoder with no sentence
   objective), each scored on validation SOP pairs (the validation half of the held-out documents);
2. final: a longer run from the better start;
3. calibration: one temperature fitted on the validation pairs and folded into the head;
4. export: the tensors the run trained as an fp16 difference from the start model (explorer.delta), weight
   matrices at the recipe's low rank, after checking that nothing frozen moved;
5. evaluation of the exported model on the test half (SOP and NSP pairs) beside the fp32 checkpoint, so the
   cost of the smaller format is measured; the numbers go to results.json beside the model.
The model card (explorer/data/minilm_sop/MODEL_CARD.md) records the runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from explorer.calibration import fit_temperature, fold_temperature  # noqa: E402
from explorer.delta import FROZEN_BY_DEFAULT, frozen_except, frozen_problem, save_delta, top_layers_keys  # noqa: E402
from explorer.device import DEVICE_NAMES  # noqa: E402
from explorer.evaluate import LabelledPair, evaluate_pairs, read_pairs, report_from_logits  # noqa: E402
from explorer.examples import EVERYDAY_PAIRS  # noqa: E402
from explorer.models import load_model  # noqa: E402
from explorer.nsp import score_pairs  # noqa: E402
from explorer.objectives import labelled_pairs  # noqa: E402
from explorer.training.data import heldout_halves  # noqa: E402

RECIPE = tomllib.loads((ROOT / "recipes" / "minilm_sop.toml").read_text(encoding="utf-8"))
TRAIN_CORPUS: str = RECIPE["data"]["train_corpus"]
MAX_LENGTH: int = RECIPE["data"]["max_length"]
COMMON: list[str] = ["--corpus", TRAIN_CORPUS, "--max-length", str(MAX_LENGTH), *RECIPE["train"]["common"]]
TRAIN_WHAT: str = RECIPE["train"]["common"][RECIPE["train"]["common"].index("--train") + 1]
LOW_RANK: int | None = RECIPE.get("export", {}).get("low_rank")
STARTS: dict[str, str] = RECIPE["sweep"]["starts"]
EVAL_PAIRS = 1000  # the runs' own held-out curve (all held-out documents); choices use validation pairs only


def train(name: str, start: str, steps: int, eval_every: int, args) -> Path:
    """One `python -m explorer train` run into work/name; with --reuse, a finished run of that name is kept."""
    out = Path(args.work) / name
    cmd = [
        sys.executable, "-m", "explorer", "train", *COMMON, "--base-model", start, "--steps", str(steps),
        "--eval-every", str(eval_every), "--eval-pairs", str(EVAL_PAIRS), "--device", args.device, "--json",
        "--out", str(out),
    ]  # fmt: skip
    print("$", " ".join(cmd), flush=True)
    if args.reuse and (out / "training_info.json").is_file():
        print(f"  reusing the finished run in {out}", flush=True)
        return out
    with open(Path(args.work) / f"{name}.jsonl", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, cwd=ROOT)
    return out


def summary(report) -> dict:
    return {"accuracy": report.accuracy, "mean_loss": report.mean_loss, "ece": report.ece, "n": report.n}


def accuracy_of(folder: Path | str, pairs: list[LabelledPair], device: str) -> dict:
    return summary(evaluate_pairs(load_model(str(folder), device), pairs, max_length=MAX_LENGTH, batch_size=64))


def sweep(val_sop: list[LabelledPair], args, results: dict) -> str:
    """Step 1: the start whose short run scores best on the validation SOP pairs."""
    scores = {}
    for name, start in STARTS.items():
        folder = train(f"sweep_{name}", start, RECIPE["sweep"]["steps"], RECIPE["sweep"]["steps"], args)
        scores[name] = accuracy_of(folder, val_sop, args.device)
        print(f"  sweep {name}: validation SOP {scores[name]}", flush=True)
    results["sweep"] = scores
    return max(scores, key=lambda name: scores[name]["accuracy"])


def calibrate(loaded, val_sop: list[LabelledPair], results: dict) -> None:
    """Fit one temperature on the validation SOP pairs and fold it into the head, in place.

    The same scores give the run's validation numbers before calibration (results["validation_sop"]).
    """
    logits = score_pairs(loaded, [(p.a, p.b) for p in val_sop], max_length=MAX_LENGTH, batch_size=64)
    labels = np.array([p.label for p in val_sop])
    temperature = fit_temperature(logits, labels)
    before = report_from_logits(logits, labels)
    fold_temperature(loaded.model, temperature)
    results["validation_sop"] = summary(before)
    results["calibration"] = {"temperature": temperature, "validation_ece_before": before.ece}


def frozen_tensors(model) -> tuple[str, ...]:
    """What the recipe's runs leave as the start model had it: all but the top K layers, or the word embeddings."""
    if TRAIN_WHAT.startswith("top-"):
        return frozen_except(model, top_layers_keys(model, int(TRAIN_WHAT.removeprefix("top-"))))
    return FROZEN_BY_DEFAULT


def record_reference_logits(out: Path) -> None:
    """Store in the manifest what the saved delta loads to on the everyday pairs, for the loading test to check.

    Taken from the stored model itself: at a low rank it is close to the trained checkpoint, not equal to it
    (what that costs is measured on the test pairs instead).
    """
    everyday = [(p.a, p.b) for p in read_pairs(EVERYDAY_PAIRS)]
    manifest = json.loads((out / "delta.json").read_text())
    manifest["info"]["reference_pairs"] = EVERYDAY_PAIRS.name
    manifest["info"]["reference_logits"] = score_pairs(load_model(str(out), "cpu"), everyday).round(6).tolist()
    (out / "delta.json").write_text(json.dumps(manifest, indent=1))


def export(final: Path, start: str, out: Path, val_sop: list[LabelledPair], results: dict, calibrated: Path) -> None:
    """Steps 3-4: calibrate, check that nothing frozen moved, save the rest as a difference from the start."""
    loaded, reference = load_model(str(final), "cpu"), load_model(start, "cpu")
    frozen = frozen_tensors(loaded.model)
    problem = frozen_problem(loaded.model, reference.model, frozen)
    assert problem is None, f"{problem} The delta would not reproduce this model."
    calibrate(loaded, val_sop, results)
    info = {"recipe": "recipes/minilm_sop.toml", "start": start, "temperature": results["calibration"]["temperature"]}
    low_rank = (reference.model, LOW_RANK) if LOW_RANK else None
    save_delta(loaded.model, out, base=start, frozen=frozen, info=info, low_rank=low_rank)
    record_reference_logits(out)
    loaded.model.save_pretrained(calibrated)  # the fp32 model, for the format check
    loaded.tokenizer.save_pretrained(calibrated)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    parser.add_argument("--work", default="build/sop", help="folder for the runs and their logs")
    parser.add_argument("--out", default=str(ROOT / "explorer" / "data" / "minilm_sop"))
    parser.add_argument("--reuse", action="store_true", help="keep finished runs already in --work")
    parser.add_argument("--start", choices=sorted(STARTS), help="skip the sweep and start from this model")
    parser.add_argument(
        "--final", help="a finished run of the final recipe (a checkpoint folder, e.g. trained on a GPU machine): "
        "skip steps 1-2 and export it; --start names the model it started from (default nsp)",
    )  # fmt: skip
    parser.add_argument("--pairs", type=int, default=2000, help="validation and test pairs per task")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    Path(args.work).mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    tokenizer = load_model(STARTS["nsp"], "cpu").tokenizer
    validation, test = heldout_halves(TRAIN_CORPUS, seed=0)
    val_sop = labelled_pairs(validation, tokenizer, "sop", args.pairs // 2, seed=41)
    results: dict = {"train_corpus": TRAIN_CORPUS, "train": TRAIN_WHAT, "low_rank": LOW_RANK}
    winner = args.start or ("nsp" if args.final else sweep(val_sop, args, results))
    results["start"] = winner
    if args.final:
        final = Path(args.final)
        results["final_run"] = f"trained elsewhere: {final}"
    else:
        final = train("final", STARTS[winner], RECIPE["final"]["steps"], RECIPE["final"]["eval_every"], args)
    out = Path(args.out)
    calibrated = Path(args.work) / "final-calibrated"
    export(final, STARTS[winner], out, val_sop, results, calibrated)
    tests = {
        "sop": labelled_pairs(test, tokenizer, "sop", args.pairs, 42),
        "nsp": labelled_pairs(test, tokenizer, "bert", args.pairs, 43),
    }
    for label, folder in (("shipped_fp16_delta", out), ("fp32_checkpoint", calibrated)):
        results[label] = {task: accuracy_of(folder, pairs, "cpu") for task, pairs in tests.items()}
        print(f"  {label}: {results[label]}", flush=True)
    results["delta_bytes"] = sum(p.stat().st_size for p in out.glob("*.safetensors"))
    results["total_seconds"] = time.perf_counter() - begin
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
