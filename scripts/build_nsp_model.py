"""Rebuild the shipped NSP model (explorer/data/minilm_nsp) from scratch, by measurement.

    .venv/bin/python scripts/build_nsp_model.py --device cuda      # about 8 minutes on one H100/H200
    .venv/bin/python scripts/build_nsp_model.py --device cpu       # the same recipe; hours on 2 CPU cores

Steps, all with the project's own code:
1. sweep: short runs of a few candidate recipes with `python -m explorer train`; each is scored on the
   same validation pairs (BERT's recipe, documents held out from training); the best recipe wins;
2. final: a longer run of the winning recipe with `python -m explorer train`;
3. calibration: one temperature fitted on the validation pairs and folded into the NSP head;
4. export: the tensors that training changed, as fp16 shards (`explorer.delta`);
5. evaluation on test pairs from other held-out documents, on the King James Bible (never used for
   training: out of domain) and on the everyday pairs; numbers go to results.json beside the model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from explorer.calibration import fit_temperature, fold_temperature, mean_nll  # noqa: E402
from explorer.corpus import Corpus, load_corpus  # noqa: E402
from explorer.delta import save_delta  # noqa: E402
from explorer.evaluate import read_pairs, report_from_logits  # noqa: E402
from explorer.models import BUNDLED_UNTRAINED, load_model  # noqa: E402
from explorer.nsp import nsp_steps, score_pairs  # noqa: E402
from explorer.sampling import PairSampler  # noqa: E402
from explorer.training import TrainConfig, pairs_to_batch, split_corpus  # noqa: E402

TRAIN_CORPUS = "sotu+wiki"
OOD_CORPUS = "kjv"  # never trained on
MAX_LENGTH = 128  # BERT's default max_seq_length
EVERYDAY = ROOT / "explorer" / "data" / "everyday_pairs.csv"

# Candidate recipes for the sweep: what differs between them, on top of COMMON.
COMMON = ["--corpus", TRAIN_CORPUS, "--max-length", str(MAX_LENGTH), "--freeze-word-embeddings",
          "--bf16", "auto", "--no-time-limit", "--eval-every", "100"]
CANDIDATES = {
    "bert-full-lr5e-5": ["--mode", "bert", "--train", "full", "--lr", "5e-5", "--head-lr", "1e-3"],
    "bert-full-lr1e-4": ["--mode", "bert", "--train", "full", "--lr", "1e-4", "--head-lr", "1e-3"],
    "sentences-full-lr1e-4": ["--mode", "sentences", "--train", "full", "--lr", "1e-4", "--head-lr", "1e-3"],
    "bert-top3-lr1e-4": ["--mode", "bert", "--train", "top-3", "--lr", "1e-4", "--head-lr", "1e-3"],
    # Half of the NotNext B from A's own document (not adjacent): topic alone cannot tell those apart,
    # so the model has to use coherence. Added after the first build's King James Bible result (52%).
    "bert-full-lr1e-4-hard50": ["--mode", "bert", "--train", "full", "--lr", "1e-4", "--head-lr", "1e-3",
                                "--hard-negatives", "0.5"],
}
SWEPT = ("bert-full-lr5e-5", "bert-full-lr1e-4", "sentences-full-lr1e-4", "bert-top3-lr1e-4")


def heldout_documents(seed: int) -> tuple[Corpus, Corpus]:
    """Validation and test corpora: alternate documents of the training run's held-out split."""
    corpus = load_corpus(TRAIN_CORPUS)
    _, heldout = split_corpus(corpus, replace(TrainConfig(), corpus=TRAIN_CORPUS, seed=seed))
    docs, titles = heldout.documents, [heldout.title(i) for i in range(len(heldout.documents))]
    return (Corpus("validation", docs[0::2], titles[0::2]), Corpus("test", docs[1::2], titles[1::2]))


def bert_pairs(corpus: Corpus, tokenizer, n: int, seed: int):
    return PairSampler(corpus, tokenizer, mode="bert", max_length=MAX_LENGTH, seed=seed).sample_many(n)


def logits_of(model, tokenizer, pairs, device, batch_size: int = 128) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(pairs), batch_size):
        batch = pairs_to_batch(pairs[i : i + batch_size], tokenizer)
        inputs = {k: batch[k].to(device) for k in ("input_ids", "token_type_ids", "attention_mask")}
        out.append(nsp_steps(model, inputs)["logits"].float().cpu().numpy())
    return np.concatenate(out)


def labels_of(pairs) -> np.ndarray:
    return np.array([p.label for p in pairs])


def train(name: str, extra: list[str], args, work: Path) -> Path:
    out = work / name
    cmd = [sys.executable, "-m", "explorer", "train", "--model", args.start, "--device", args.device,
           "--seed", str(args.seed), "--out", str(out), "--json", "--eval-pairs", args.eval_pairs,
           *COMMON, *extra]
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    with open(work / f"{name}.jsonl", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, cwd=ROOT)
    print(f"  trained {name} in {time.perf_counter() - start:.0f} s", flush=True)
    return out


def steps_per_second(log: Path) -> float:
    """Training speed of a finished run, from the last step event of its JSON log."""
    steps = [json.loads(line) for line in log.read_text().splitlines() if '"kind": "step"' in line]
    return float(steps[-1]["steps_per_s"])


def summary(report) -> dict:
    return {k: v for k, v in report.to_dict().items() if k != "reliability"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--start", default=BUNDLED_UNTRAINED, help="model to fine-tune (a copy of the base works)")
    parser.add_argument("--base", default=BUNDLED_UNTRAINED, help="the model the delta is applied to when loaded")
    parser.add_argument("--sweep-steps", type=int, default=300)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=4000, help="test pairs per set (validation: half)")
    parser.add_argument("--eval-pairs", default="512", help="held-out pairs of each training run's own curve")
    parser.add_argument("--no-sweep", metavar="RECIPE", help="skip the sweep and use this candidate")
    parser.add_argument("--work", default="runs/nsp-model")
    parser.add_argument("--out", default="explorer/data/minilm_nsp")
    args = parser.parse_args()
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    start_model = load_model(args.start, "cpu")
    tokenizer = start_model.tokenizer
    validation, test = heldout_documents(args.seed)
    val_pairs = bert_pairs(validation, tokenizer, args.pairs // 2, seed=11)
    test_pairs = bert_pairs(test, tokenizer, args.pairs, seed=12)
    ood_pairs = bert_pairs(load_corpus(OOD_CORPUS), tokenizer, args.pairs, seed=13)
    print(f"validation docs {len(validation.documents)}, test docs {len(test.documents)}", flush=True)

    results: dict = {"train_corpus": TRAIN_CORPUS, "ood_corpus": OOD_CORPUS, "device": args.device, "sweep": {}}
    device = torch.device("cuda" if args.device in ("cuda", "gpu") else "cpu")
    if args.no_sweep:
        best = args.no_sweep
    else:
        for name in SWEPT:
            extra = CANDIDATES[name]
            folder = train(name, [*extra, "--steps", str(args.sweep_steps), "--batch-size", str(args.batch_size)], args, work)
            model = load_model(str(folder), str(device)).model
            val = report_from_logits(logits_of(model, tokenizer, val_pairs, device), labels_of(val_pairs))
            ood = report_from_logits(logits_of(model, tokenizer, ood_pairs[: len(val_pairs)], device), labels_of(ood_pairs[: len(val_pairs)]))
            results["sweep"][name] = {"validation": summary(val), "ood_kjv": summary(ood)}
            print(f"  {name}: validation acc {val.accuracy:.4f} loss {val.mean_loss:.4f} | kjv acc {ood.accuracy:.4f}",
                  flush=True)
        best = max(results["sweep"], key=lambda n: results["sweep"][n]["validation"]["accuracy"])
    results["recipe"] = best
    print(f"final recipe: {best}", flush=True)
    steps = args.steps
    if not args.no_sweep:  # as many steps as fit the time budget, so the lr schedule runs its full course
        speed = steps_per_second(work / f"{best}.jsonl")
        steps = min(args.steps, max(args.sweep_steps, int(speed * args.max_seconds * 0.9)))
        print(f"sweep speed {speed:.1f} steps/s -> final run of {steps} steps", flush=True)
    results["final_steps"] = steps
    final_args = [*CANDIDATES[best], "--steps", str(steps), "--batch-size", str(args.batch_size),
                  "--max-seconds", str(args.max_seconds)]
    results["final_train_args"] = [*COMMON, *final_args]
    folder = train("final", final_args, args, work)

    loaded = load_model(str(folder), str(device))
    model = loaded.model
    key = "bert.embeddings.word_embeddings.weight"
    drift = (model.state_dict()[key].cpu() - start_model.model.state_dict()[key]).abs().max().item()
    assert drift == 0.0, f"the word embeddings were trained (max change {drift}); the delta would not reproduce it"
    val_logits = logits_of(model, tokenizer, val_pairs, device)
    temperature = fit_temperature(val_logits, labels_of(val_pairs))
    results["temperature"] = temperature
    results["validation_loss_before_after_calibration"] = [
        mean_nll(val_logits, labels_of(val_pairs), 1.0), mean_nll(val_logits, labels_of(val_pairs), temperature)]
    fold_temperature(model, temperature)
    model.to("cpu")
    everyday = read_pairs(EVERYDAY)
    loaded.device = torch.device("cpu")
    reference_logits = score_pairs(loaded, [(p.a, p.b) for p in everyday])
    save_delta(model, out, base=args.base, info={"recipe": best, "temperature": temperature,
                                               "reference_pairs": EVERYDAY.name,
                                               "reference_logits": reference_logits.round(6).tolist()})
    for name, pairs in (("test_in_domain", test_pairs), ("ood_kjv", ood_pairs)):
        report = report_from_logits(logits_of(model, tokenizer, pairs, "cpu"), labels_of(pairs))
        results[name] = summary(report)
    both = test_pairs + ood_pairs
    results["test_all"] = summary(report_from_logits(logits_of(model, tokenizer, both, "cpu"), labels_of(both)))
    results["everyday"] = summary(report_from_logits(reference_logits, np.array([p.label for p in everyday])))
    results["training_log"] = str(work / "final.jsonl")
    results["total_seconds"] = time.perf_counter() - t0
    for name, pairs in (("heldout_pairs.jsonl", test_pairs[:1000]), ("kjv_pairs.jsonl", ood_pairs[: len(val_pairs)])):
        with open(out / name, "w") as fh:
            for p in pairs:
                fh.write(json.dumps({"a": p.a, "b": p.b, "label": p.label}) + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: results[k] for k in ("recipe", "temperature", "test_in_domain", "ood_kjv", "everyday")},
                     indent=1))


if __name__ == "__main__":
    main()
