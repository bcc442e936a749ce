"""`ood`: the shipped model on single-sentence pairs from styles it never trained on, against a baseline."""

from __future__ import annotations

import json

from explorer.cli import CommandError
from explorer.corpus import CorpusError
from explorer.device import DEVICE_NAMES
from explorer.encoding import DEFAULT_MAX_LENGTH, PairInputError
from explorer.models import BUNDLED_TRAINED, ModelLoadError, load_model
from explorer.ood import DEFAULT_PAIRS_PER_SOURCE, DEFAULT_SEED, HALVES, OodResult, benchmark_pairs, evaluate_benchmark
from explorer.ood_sources import OOD_SOURCES

MAX_PAIRS = 5000
MAX_BATCH_SIZE = 1024

HELP = (
    "Single-sentence out-of-domain benchmark (" + ", ".join(OOD_SOURCES) + "): accuracy, mean CE and ECE per "
    "source and overall, for the shipped model and the --model baseline."
)


def add_arguments(parser) -> None:
    parser.add_argument("--model", default=None, help="baseline model scored beside the shipped one")
    parser.add_argument("--pairs", type=int, default=DEFAULT_PAIRS_PER_SOURCE, help="pairs per source (at most)")
    parser.add_argument("--half", choices=HALVES, default="test", help="choose by validation, report the test")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _check(args) -> None:
    if not 1 <= args.pairs <= MAX_PAIRS:
        raise CommandError(f"--pairs must be from 1 to {MAX_PAIRS} per source")
    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        raise CommandError(f"--batch-size must be from 1 to {MAX_BATCH_SIZE} pairs")
    if args.seed < 0:
        raise CommandError("--seed must be 0 or more")


def _print_table(name: str, result: OodResult) -> None:
    print(f"{name}")
    print(f"  {'source':<10} {'pairs':>6} {'accuracy':>9} {'mean CE':>8} {'ECE':>7}")
    rows = [*result.per_source.items(), ("all", result.overall)]
    for source, report in rows:
        print(f"  {source:<10} {report.n:>6} {report.accuracy:>9.4f} {report.mean_loss:>8.4f} {report.ece:>7.4f}")


def run(args) -> int:
    _check(args)
    shipped = BUNDLED_TRAINED
    sources = [shipped] + ([args.model] if args.model and args.model != shipped else [])
    try:
        pairs = benchmark_pairs(args.half, args.pairs, args.seed)
        results = {}
        for source in sources:
            loaded = load_model(source, args.device)
            results[source] = evaluate_benchmark(loaded, pairs, args.max_length, args.batch_size)
    except (CorpusError, ModelLoadError, PairInputError) as err:
        raise CommandError(str(err)) from err
    if args.json:
        data = {"half": args.half, "seed": args.seed, "pairs_per_source": args.pairs, "shipped": shipped}
        data["models"] = {source: result.to_dict() for source, result in results.items()}
        print(json.dumps(data))
        return 0
    print(f"{args.half} half, seed {args.seed}, up to {args.pairs} pairs per source (half IsNext, half NotNext)")
    for source, result in results.items():
        _print_table(source + (" (shipped)" if source == shipped else " (baseline)"), result)
    return 0
