"""Build the shipped NSP model (explorer/data/minilm_nsp) from the bundled MiniLM encoder, by measurement.

    .venv/bin/python scripts/build_nsp_model.py --device cuda      # training and evaluation on the GPU
    .venv/bin/python scripts/build_nsp_model.py --device cuda --nproc-per-node 4   # every run under torchrun, 4 GPUs
    .venv/bin/python scripts/build_nsp_model.py --device cpu       # the same recipe; many hours on 2 CPU cores

What it trains (corpora, the sweep's candidates, the refinement and soup settings) is data in
recipes/minilm_nsp.toml. --device auto uses a GPU when there is one, for training and evaluation
alike. Every step uses the project's own code (`python -m explorer train`, explorer.calibration, explorer.delta):
1. sweep: short runs of a few candidate recipes, each scored on the same validation pairs (BERT's
   recipe, documents held out from training); the best recipe wins (`--no-sweep RECIPE` skips it);
2. final: a longer run of the winning recipe;
3. calibration: one temperature fitted on the validation pairs and folded into the NSP head;
4. refine: more training with same-source negatives (NotNext B from another document of A's own
   corpus), then calibration again (`--stage1 SRC` starts here from a calibrated model);
4b. refine2: more of step 4 with a training-only corpus added (`--refine2-extra`, default kjv, which
   then counts as seen text) and optionally a share of NotNext B from similar documents
   (`--refine2-similar`), then calibration (`--refined SRC` starts here; `--refine2-steps 0` skips it);
4c. soup: step 4b once more with `--soup-similar SHARE` similar negatives, the two models averaged
   weight by weight with the share chosen on three kinds of validation pairs, then calibration
   (`--soup-similar 0` skips it);
5. export: the tensors that training changed, as fp16 shards (explorer.delta); the frozen word
   embeddings are checked to be unchanged;
6. evaluation on test pairs from other held-out documents, on corpora never trained on, and on the
   everyday pairs; the numbers go to results.json beside the model.
The model card (explorer/data/minilm_nsp/MODEL_CARD.md) records which runs made each release.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from explorer.calibration import fit_temperature, fold_temperature, mean_nll  # noqa: E402
from explorer.corpus import Corpus, load_corpus  # noqa: E402
from explorer.delta import frozen_problem, save_delta  # noqa: E402
from explorer.device import DEVICE_NAMES, resolve_device  # noqa: E402
from explorer.evaluate import read_pairs, report_from_logits  # noqa: E402
from explorer.examples import EVERYDAY_PAIRS  # noqa: E402
from explorer.models import BUNDLED_UNTRAINED, load_model  # noqa: E402
from explorer.nsp import batch_logits, score_pairs  # noqa: E402
from explorer.sampling import PairSampler  # noqa: E402
from explorer.training import pairs_to_batch  # noqa: E402
from explorer.training.data import heldout_halves  # noqa: E402

# What the build trains, as data: one recipe file per release (see recipes/).
RECIPE = tomllib.loads((ROOT / "recipes" / "minilm_nsp.toml").read_text(encoding="utf-8"))
TRAIN_CORPUS: str = RECIPE["data"]["train_corpus"]
OOD_CORPORA: tuple[str, ...] = tuple(RECIPE["data"]["ood_corpora"])
MAX_LENGTH: int = RECIPE["data"]["max_length"]
EVERYDAY = EVERYDAY_PAIRS
COMMON: list[str] = ["--corpus", TRAIN_CORPUS, "--max-length", str(MAX_LENGTH), *RECIPE["train"]["common"]]
CANDIDATES: dict[str, list[str]] = RECIPE["sweep"]["candidates"]  # the sweep's recipes, on top of COMMON
SWEPT: tuple[str, ...] = tuple(RECIPE["sweep"]["swept"])
REFINE: list[str] = RECIPE["refine"]["args"]
SOUP_SHARES: tuple[float, ...] = tuple(RECIPE["soup"]["shares"])


def refine2_recipe(similar: float, extra: str) -> list[str]:
    """Step 4b: step 4's recipe, with a share of NotNext B from similar documents and/or training-only text."""
    return [
        *REFINE,
        *(["--similar-negatives", str(similar)] if similar else []),
        *(["--extra-corpus", extra] if extra else []),
    ]


def heldout_documents(seed: int) -> tuple[Corpus, Corpus]:
    """Validation and test corpora: alternate documents of the training run's held-out split."""
    return heldout_halves(TRAIN_CORPUS, seed)


def bert_pairs(corpus: Corpus, tokenizer, n: int, seed: int):
    return PairSampler(corpus, tokenizer, mode="bert", max_length=MAX_LENGTH, seed=seed).sample_many(n)


def same_source_pairs(corpus: Corpus, tokenizer, n: int, seed: int, similar: float = 0.0):
    """BERT's recipe with NotNext B from A's own source; `similar`: the share of it from a similar document."""
    return PairSampler(
        corpus,
        tokenizer,
        mode="bert",
        max_length=MAX_LENGTH,
        seed=seed,
        same_source_negatives=True,
        similar_negatives=similar,
    ).sample_many(n)


def logits_of(model, tokenizer, pairs, device, batch_size: int = 128) -> np.ndarray:
    """NSP logits of sampled pairs (token ids already made), through the same path as the app's scoring."""
    model.eval()
    batches = (pairs_to_batch(pairs[i : i + batch_size], tokenizer) for i in range(0, len(pairs), batch_size))
    return batch_logits(model, batches, device)


def labels_of(pairs) -> np.ndarray:
    return np.array([p.label for p in pairs])


def train(name: str, extra: list[str], args, work: Path, start: str | None = None) -> Path:
    """One `python -m explorer train` run into work/name; with --reuse, a finished run of the same name is kept."""
    out = work / name
    # Under torchrun each training run uses --nproc-per-node processes (GPUs); the global batch stays the same.
    launcher = [sys.executable]
    if args.nproc_per_node > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.nproc_per_node}"]
    cmd = [
        *launcher,
        "-m",
        "explorer",
        "train",
        "--model",
        start or args.start,
        "--device",
        args.device,
        "--seed",
        str(args.seed),
        "--out",
        str(out),
        "--json",
        "--eval-pairs",
        args.eval_pairs,
        *COMMON,
        *extra,
    ]
    print("$", " ".join(cmd), flush=True)
    if args.reuse and (out / "training_info.json").is_file():
        print(f"  reusing the finished run in {out}", flush=True)
        return out
    begin = time.perf_counter()
    with open(work / f"{name}.jsonl", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, cwd=ROOT)
    print(f"  trained {name} in {time.perf_counter() - begin:.0f} s", flush=True)
    return out


def average_states(first: dict, second: dict, share: float) -> dict:
    """(1 - share) * first + share * second for every floating-point tensor: a "model soup"."""
    return {k: torch.lerp(v, second[k], share) if v.is_floating_point() else v for k, v in first.items()}


def soup(first: Path, second: Path, val_sets: dict, device, results: dict) -> Path:
    """Step 4c: average two step-4b models, the share chosen on the validation pairs, then calibrate."""
    loaded = load_model(str(first), str(device))
    states: list[dict[str, Any]] = [
        {k: v.detach().clone() for k, v in model.state_dict().items()}  # copies: loading would overwrite them
        for model in (loaded.model, load_model(str(second), str(device)).model)
    ]
    scores = {}
    for share in SOUP_SHARES:
        loaded.model.load_state_dict(average_states(states[0], states[1], share))
        accuracy = {
            name: report_from_logits(
                logits_of(loaded.model, loaded.tokenizer, pairs, device), labels_of(pairs)
            ).accuracy
            for name, pairs in val_sets.items()
        }
        scores[share] = float(np.mean(list(accuracy.values())))
        print(f"  soup share {share}: validation {accuracy}, mean {scores[share]:.4f}", flush=True)
    best = max(scores, key=lambda share: scores[share])
    results["soup"] = {"models": [str(first), str(second)], "validation_mean_accuracy": scores, "share": best}
    loaded.model.load_state_dict(average_states(states[0], states[1], best))
    calibrate(loaded, val_sets["bert"], device, results, "soup_calibration")
    folder = first.parent / "soup-calibrated"
    loaded.model.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    return folder


def steps_per_second(log: Path) -> float:
    """Training speed of a finished run, from the last step event of its JSON log."""
    steps = [json.loads(line) for line in log.read_text().splitlines() if '"kind": "step"' in line]
    return float(steps[-1]["steps_per_s"])


def summary(report) -> dict:
    return {k: v for k, v in report.to_dict().items() if k != "reliability"}


def calibrate(loaded, val_pairs, device, results: dict, key: str) -> None:
    """Fit one temperature on the validation pairs and fold it into the NSP head, in place."""
    logits, labels = logits_of(loaded.model, loaded.tokenizer, val_pairs, device), labels_of(val_pairs)
    temperature = fit_temperature(logits, labels)
    results[key] = {
        "temperature": temperature,
        "validation_loss_before_after": [mean_nll(logits, labels, 1.0), mean_nll(logits, labels, temperature)],
    }
    fold_temperature(loaded.model, temperature)
    print(f"  {key}: temperature {temperature:.3f}", flush=True)


def stage1(args, work: Path, tokenizer, val_pairs, device, results: dict) -> Path:
    """Steps 1-3: sweep, final run, calibration; returns the folder of the calibrated model."""
    if args.no_sweep:
        best = args.no_sweep
    else:
        for name in SWEPT:
            extra = CANDIDATES[name]
            folder = train(
                name, [*extra, "--steps", str(args.sweep_steps), "--batch-size", str(args.batch_size)], args, work
            )
            model = load_model(str(folder), str(device)).model
            val = report_from_logits(logits_of(model, tokenizer, val_pairs, device), labels_of(val_pairs))
            results["sweep"][name] = {"validation": summary(val)}
            print(f"  {name}: validation acc {val.accuracy:.4f} loss {val.mean_loss:.4f}", flush=True)
        best = max(results["sweep"], key=lambda n: results["sweep"][n]["validation"]["accuracy"])
    results["recipe"] = best
    print(f"final recipe: {best}", flush=True)
    steps = args.steps
    if not args.no_sweep:  # as many steps as fit the time budget, so the lr schedule runs its full course
        speed = steps_per_second(work / f"{best}.jsonl")
        steps = min(args.steps, max(args.sweep_steps, int(speed * args.max_seconds * 0.9)))
        print(f"sweep speed {speed:.1f} steps/s -> final run of {steps} steps", flush=True)
    results["final_steps"] = steps
    final_args = [
        *CANDIDATES[best],
        "--steps",
        str(steps),
        "--batch-size",
        str(args.batch_size),
        "--max-seconds",
        str(args.max_seconds),
    ]
    results["final_train_args"] = [*COMMON, *final_args]
    loaded = load_model(str(train("final", final_args, args, work)), str(device))
    calibrate(loaded, val_pairs, device, results, "stage1_calibration")
    folder = work / "stage1"
    loaded.model.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    return folder


def refine(
    name: str, recipe: list[str], steps: int, start: str, args, work: Path, val_pairs, device, results: dict
) -> Path:
    """Steps 4 and 4b: train from `start`, calibrate; returns the folder of the calibrated model."""
    train_args = [*recipe, "--steps", str(steps), "--batch-size", str(args.refine_batch_size)]
    results[f"{name}_train_args"] = [*COMMON, *train_args]
    loaded = load_model(str(train(name, train_args, args, work, start=start)), str(device))
    calibrate(loaded, val_pairs, device, results, f"{name}_calibration")
    folder = work / f"{name}-calibrated"
    loaded.model.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    return folder


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    parser.add_argument("--start", default=BUNDLED_UNTRAINED, help="model to fine-tune (a copy of the base works)")
    parser.add_argument("--base", default=BUNDLED_UNTRAINED, help="the model the delta is applied to when loaded")
    parser.add_argument("--sweep-steps", type=int, default=300)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--stage1", metavar="SRC", help="skip steps 1-3: refine this calibrated model")
    parser.add_argument("--refine-steps", type=int, default=6000, help="step 4 (0: ship the step-3 model)")
    parser.add_argument("--refine-batch-size", type=int, default=32)
    parser.add_argument("--refined", metavar="SRC", help="skip steps 1-4: run step 4b from this calibrated model")
    parser.add_argument("--refine2-steps", type=int, default=4000, help="step 4b (0: ship the step-4 model)")
    parser.add_argument(
        "--refine2-similar",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="step 4b: share of NotNext B from one of the 10 most similar documents",
    )
    parser.add_argument(
        "--refine2-extra",
        default="kjv",
        metavar="NAME",
        help="step 4b: a training-only corpus (e.g. kjv); it then no longer counts as out of domain",
    )
    parser.add_argument(
        "--soup-similar",
        type=float,
        default=0.25,
        metavar="SHARE",
        help="step 4c: a second step-4b run with this --refine2-similar, averaged with the first (0: off)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--nproc-per-node",
        type=int,
        default=1,
        metavar="N",
        help="train with torchrun on N processes of this machine (one per GPU); batch sizes stay global",
    )
    parser.add_argument("--pairs", type=int, default=4000, help="test pairs per set (validation: half)")
    parser.add_argument("--eval-pairs", default="512", help="held-out pairs of each training run's own curve")
    parser.add_argument("--no-sweep", metavar="RECIPE", help="skip the sweep and use this candidate")
    parser.add_argument("--reuse", action="store_true", help="keep finished training runs found in --work")
    parser.add_argument("--work", default="runs/nsp-model")
    parser.add_argument("--out", default="explorer/data/minilm_nsp")
    return parser.parse_args()


def evaluate_test_sets(model, tokenizer, test_sets: dict[str, Any], ood_corpora: list[str], results: dict) -> None:
    """Accuracy and calibration of the exported model on each test set, and on the target's sets together."""
    logits = {name: logits_of(model, tokenizer, pairs, "cpu") for name, pairs in test_sets.items()}
    for name, pairs in test_sets.items():
        results[name] = summary(report_from_logits(logits[name], labels_of(pairs)))
        print(f"  {name}: {results[name]['accuracy']:.4f}", flush=True)
    # The target: documents never seen, in domain and from a source never trained on, together.
    for name, parts in (
        ("test_with_news", ("test_in_domain", "ood_news")),
        ("test_all", ("test_in_domain", *(f"ood_{name}" for name in ood_corpora))),
    ):
        joined = np.concatenate([logits[part] for part in parts])
        labels = np.concatenate([labels_of(test_sets[part]) for part in parts])
        results[name] = summary(report_from_logits(joined, labels))


def save_results(out: Path, results: dict) -> None:
    """results.json beside the model, and the headline numbers on the screen."""
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    headline = ("test_in_domain", "ood_news", "ood_kjv", "seen_kjv", "test_with_news", "everyday")
    print(json.dumps({k: results.get(k) for k in headline}, indent=1))


def write_check_pairs(out: Path, test_sets: dict[str, Any], n_kjv: int) -> None:
    """Pairs for re-checking with `python -m explorer eval`. The news articles are the ABC's text, so no
    pairs of them are stored: `python -m explorer sample --corpus news --n 2000 --seed 13 --json` makes them."""
    kjv = test_sets.get("ood_kjv") or test_sets["seen_kjv"]
    for name, pairs in (("heldout_pairs.jsonl", test_sets["test_in_domain"][:1000]), ("kjv_pairs.jsonl", kjv[:n_kjv])):
        with open(out / name, "w") as fh:
            for p in pairs:
                fh.write(json.dumps({"a": p.a, "b": p.b, "label": p.label}) + "\n")


def held_out_test_sets(test: Corpus, tokenizer, n: int, ood_corpora: list[str]) -> dict[str, Any]:
    """The test pairs: in-domain with three kinds of NotNext, and each held-out source's own."""
    return {
        "test_in_domain": bert_pairs(test, tokenizer, n, seed=12),
        "test_in_domain_same_source": same_source_pairs(test, tokenizer, n, seed=12),
        "test_in_domain_similar": same_source_pairs(test, tokenizer, n, seed=12, similar=1.0),
        # a former out-of-domain source that a refinement trained on keeps its pairs, named seen_ instead of ood_
        **{
            f"{'ood' if name in ood_corpora else 'seen'}_{name}": bert_pairs(load_corpus(name), tokenizer, n, seed=13)
            for name in OOD_CORPORA
        },
    }


def trained_model(args, work: Path, tokenizer, validation: Corpus, val_pairs, device, results: dict) -> tuple[str, str]:
    """Stage 1 and the refinements asked for (or the folders given instead): the model folder and its log."""
    log = "final.jsonl"
    if args.refined:
        model_dir = args.refined
    else:
        model_dir = args.stage1 or str(stage1(args, work, tokenizer, val_pairs, device, results))
        results["stage1_model"] = model_dir
        if args.refine_steps:
            model_dir, log = (
                str(refine("refine", REFINE, args.refine_steps, model_dir, args, work, val_pairs, device, results)),
                "refine.jsonl",
            )
    results["refined_model"] = model_dir
    if not args.refine2_steps:
        return model_dir, log
    refined = model_dir
    recipe = refine2_recipe(args.refine2_similar, args.refine2_extra)
    model_dir = str(refine("refine2", recipe, args.refine2_steps, refined, args, work, val_pairs, device, results))
    if args.soup_similar:
        recipe = refine2_recipe(args.soup_similar, args.refine2_extra)
        second = refine("refine2b", recipe, args.refine2_steps, refined, args, work, val_pairs, device, results)
        n = len(val_pairs)
        val_sets = {
            "bert": val_pairs,
            "same_source": same_source_pairs(validation, tokenizer, n, seed=21),
            "similar": same_source_pairs(validation, tokenizer, n, seed=22, similar=1.0),
        }
        model_dir = str(soup(Path(model_dir), second, val_sets, device, results))
    return model_dir, "refine2.jsonl"


def save_shipped_delta(loaded, start_model, out: Path, base: str, results: dict) -> np.ndarray:
    """Check the frozen parts, move to CPU and save the delta with its reference logits; returns them."""
    model = loaded.model
    problem = frozen_problem(model, start_model.model)
    assert problem is None, f"{problem} The delta would not reproduce this model."
    model.to("cpu")
    loaded.device = torch.device("cpu")
    reference_logits = score_pairs(loaded, [(p.a, p.b) for p in read_pairs(EVERYDAY)])
    calibrations = [
        results[k]
        for k in ("soup_calibration", "refine2_calibration", "refine_calibration", "stage1_calibration")
        if k in results
    ]
    save_delta(
        model,
        out,
        base=base,
        info={
            "recipe": results.get("recipe", "stage1 + refinements"),
            "temperature": calibrations[0]["temperature"] if calibrations else None,
            "reference_pairs": EVERYDAY.name,
            "reference_logits": reference_logits.round(6).tolist(),
        },
    )
    return reference_logits


def main() -> None:
    args = parse_args()
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    start_model = load_model(args.start, "cpu")
    tokenizer = start_model.tokenizer
    validation, test = heldout_documents(args.seed)
    extra = set(args.refine2_extra.split("+")) if args.refine2_steps and args.refine2_extra else set()
    ood_corpora = [name for name in OOD_CORPORA if name not in extra]
    val_pairs = bert_pairs(validation, tokenizer, args.pairs // 2, seed=11)
    test_sets = held_out_test_sets(test, tokenizer, args.pairs, ood_corpora)
    print(f"validation docs {len(validation.documents)}, test docs {len(test.documents)}", flush=True)

    results: dict = {"train_corpus": TRAIN_CORPUS, "ood_corpora": ood_corpora, "device": args.device, "sweep": {}}
    device = resolve_device(args.device).device  # the same device the training runs pick
    model_dir, log = trained_model(args, work, tokenizer, validation, val_pairs, device, results)
    loaded = load_model(model_dir, str(device))
    results["training_log"] = str(work / log)

    reference_logits = save_shipped_delta(loaded, start_model, out, args.base, results)
    evaluate_test_sets(loaded.model, tokenizer, test_sets, ood_corpora, results)
    everyday_labels = np.array([p.label for p in read_pairs(EVERYDAY)])
    results["everyday"] = summary(report_from_logits(reference_logits, everyday_labels))
    results["total_seconds"] = time.perf_counter() - t0
    write_check_pairs(out, test_sets, len(val_pairs))
    save_results(out, results)


if __name__ == "__main__":
    main()
