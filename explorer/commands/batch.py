"""`batch`: the NSP loss of a batch of k pairs, its gradient, and the loss after each SGD step on the head."""

from __future__ import annotations

import json
from argparse import ArgumentParser, ArgumentTypeError, Namespace

from explorer.batch import (
    DEFAULT_K,
    MAX_K,
    MIN_K,
    SOURCES,
    BatchInputError,
    check_k,
    example_pairs,
    file_pairs,
    sampled_pairs,
    unseen_draw,
)
from explorer.batch_head import MAX_SGD_LR, REDUCTIONS, VARIANTS
from explorer.batch_lesson import MAX_STEPS, BatchLesson, start_lesson
from explorer.batch_mlm import NO_MLM_HEAD, has_mlm_head, load_pretraining_model, pretraining_terms
from explorer.cli import CommandError
from explorer.device import DEVICE_NAMES
from explorer.encoding import DEFAULT_MAX_LENGTH
from explorer.evaluate import LabelledPair
from explorer.labels import LABEL_NAMES
from explorer.models import DEFAULT_SOURCE, LoadedModel, ModelLoadError, load_model

HELP = "The NSP loss of a batch of pairs, its gradient (checked against autograd) and SGD steps on the head."


def _learning_rate(text: str) -> float:
    value = float(text)
    if not 0 < value <= MAX_SGD_LR:  # also refuses nan and inf, which would overflow the step
        raise ArgumentTypeError(f"must be greater than 0 and at most {MAX_SGD_LR:g}")
    return value


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--k", type=int, default=DEFAULT_K, help=f"pairs in the batch ({MIN_K} to {MAX_K})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--from",
        dest="source",
        default="sample",
        help="sample (BERT's recipe), examples, or an eval-format FILE (CSV/JSON lines a, b, label), "
        "whose pairs are the whole batch",
    )
    parser.add_argument("--not-next-share", type=float, default=0.5, help="NotNext share when sampling")
    parser.add_argument("--reduction", choices=REDUCTIONS, default="mean")
    parser.add_argument(
        "--variant", choices=list(VARIANTS), default="bert", help="bert: pooler first; textbook: no pooler"
    )
    parser.add_argument("--steps", type=int, default=0, help=f"SGD steps on the NSP head (0 to {MAX_STEPS})")
    parser.add_argument("--lr", type=_learning_rate, default=0.1, help=f"SGD learning rate (0 to {MAX_SGD_LR:g})")
    parser.add_argument("--model", default=DEFAULT_SOURCE, help="bundled model, local folder or hub id")
    parser.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _read_file(path: str) -> list[LabelledPair]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise BatchInputError(f"Cannot read {path}: {err.strerror or err}.") from err
    return file_pairs(data, path)


def _pairs(args: Namespace, loaded: LoadedModel) -> list[LabelledPair]:
    if args.source == "sample":
        return sampled_pairs(loaded.tokenizer, args.k, args.seed, args.not_next_share, args.max_length)
    if args.source == "examples":
        return example_pairs(args.k, args.seed)
    return _read_file(args.source)  # the file is the batch: its k is its number of pairs


def _lesson(args: Namespace) -> tuple[BatchLesson, LoadedModel]:
    if not 0 <= args.steps <= MAX_STEPS:
        raise CommandError(f"--steps must lie between 0 and {MAX_STEPS}")
    if args.source in SOURCES:
        check_k(args.k)
    loaded = load_model(args.model, args.device)
    pairs = _pairs(args, loaded)
    # The second batch is always sampled, with another seed, so none of its pairs was stepped on.
    unseen = unseen_draw(loaded.tokenizer, len(pairs), args.seed, args.not_next_share, args.max_length)
    return start_lesson(loaded, pairs, args.variant, unseen if args.steps else None, args.max_length), loaded


def _print_table(data: dict) -> None:
    print(f"{'#':>3} {'label':8} {'z IsNext':>9} {'z NotNext':>9} {'p(true)':>8} {'CE':>8}  A / B")
    for i, row in enumerate(data["pairs"], start=1):
        z0, z1 = row["logits"]
        print(
            f"{i:3d} {row['label']:8} {z0:+9.4f} {z1:+9.4f} {row['p_true']:8.4f} {row['cross_entropy']:8.4f}  ", end=""
        )
        print(f"{row['a'][:50]!r} / {row['b'][:50]!r}")


def _print_losses(data: dict) -> None:
    k, total = data["k"], data["loss_sum"]
    if data["reduction"] == "mean":
        print(f"loss (mean) = sum of CE / k = {total:.6f} / {k} = {data['loss']:.6f}")
    elif data["reduction"] == "sum":
        print(f"loss (sum) = sum of CE = {data['loss']:.6f}")
    else:
        print("loss (none) = the CE column itself, one number per pair")
    d_bias = ", ".join(f"{g:+.6f}" for g in data["dL_db_NSP"])
    print(f"dL/db_NSP = [{d_bias}]   |dL/dW_NSP| = {data['dL_dW_NSP_norm']:.6f}")
    print(f"largest |closed form - autograd| over all gradients: {data['autograd_max_difference']:.2e}")


def run(args: Namespace) -> int:
    try:
        lesson, loaded = _lesson(args)
        data = {"model": args.model, **lesson.report(args.reduction).to_dict()}
        steps = [lesson.step(args.lr, args.reduction) for _ in range(args.steps)]
        terms = (
            pretraining_terms(load_pretraining_model(loaded), loaded.tokenizer, lesson.batch, args.seed)
            if has_mlm_head(loaded)
            else None
        )
    except (BatchInputError, ModelLoadError) as err:
        raise CommandError(str(err)) from err
    history = lesson.history if steps else []
    data["steps"] = [{"step": r.step, "lr": r.lr, "loss": r.loss, "unseen_loss": r.unseen_loss} for r in history]
    data["mlm_nsp"] = vars(terms) | {"total": terms.total} if terms else {"note": NO_MLM_HEAD}
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"{data['k']} pairs · variant {args.variant} · reduction {args.reduction} · labels {', '.join(LABEL_NAMES)}")
    _print_table(data)
    _print_losses(data)
    for record in data["steps"]:
        unseen = f"  unseen batch {record['unseen_loss']:.6f}" if record["unseen_loss"] is not None else ""
        print(f"step {record['step']:3d}  batch loss (mean CE) {record['loss']:.6f}{unseen}")
    if terms:
        print(f"MLM {terms.mlm:.6f} + NSP {terms.nsp:.6f} = {terms.total:.6f} (library: {terms.library_total:.6f})")
    else:
        print(f"note: {NO_MLM_HEAD}")
    return 0
