"""`eval`: accuracy, mean cross-entropy, confusion matrix and calibration of a model on a pairs file."""

from __future__ import annotations

import json

from explorer.cli import CommandError
from explorer.device import DEVICE_NAMES
from explorer.encoding import DEFAULT_MAX_LENGTH, PairInputError
from explorer.evaluate import EvalFileError, evaluate_pairs, read_pairs
from explorer.models import DEFAULT_SOURCE, ModelLoadError, load_model

MAX_BATCH_SIZE = 1024

HELP = "Evaluate a model on a CSV or JSON-lines file of pairs (columns a, b, label; 0 = IsNext, 1 = NotNext)."


def add_arguments(parser) -> None:
    parser.add_argument("pairs", help="CSV or JSON-lines file with a, b, label")
    parser.add_argument("--model", default=DEFAULT_SOURCE, help="bundled model, local folder or hub id")
    parser.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        raise CommandError(f"--batch-size must be from 1 to {MAX_BATCH_SIZE} pairs")
    try:
        pairs = read_pairs(args.pairs)
        loaded = load_model(args.model, args.device)
        report = evaluate_pairs(loaded, pairs, max_length=args.max_length, batch_size=args.batch_size)
    except (EvalFileError, ModelLoadError, PairInputError) as err:
        raise CommandError(str(err)) from err
    data = {"model": args.model, "file": args.pairs, **report.to_dict()}
    if args.json:
        print(json.dumps(data))
        return 0
    (tn_is, fp_not), (fn_is, tp_not) = report.confusion.tolist()
    print(
        f"{report.n} pairs · accuracy {report.accuracy:.4f} · mean CE {report.mean_loss:.4f} · "
        f"mean p(true label) {data['mean_p_true']:.4f} · ECE {report.ece:.4f}"
    )
    print("confusion (rows = true, columns = predicted):")
    print(f"  IsNext   {tn_is:6d} {fp_not:6d}")
    print(f"  NotNext  {fn_is:6d} {tp_not:6d}")
    return 0
