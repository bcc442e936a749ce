"""`export-delta`: store a fine-tuned checkpoint as fp16 shards of what differs from its base model."""

from __future__ import annotations

from explorer.cli import CommandError
from explorer.delta import frozen_problem, save_delta
from explorer.evaluate import read_pairs
from explorer.examples import EVERYDAY_PAIRS
from explorer.models import BUNDLED_UNTRAINED, ModelLoadError, load_model
from explorer.nsp import score_pairs

HELP = "Write a checkpoint as a delta folder (base model + stored tensors), as shipped in explorer/data/minilm_nsp."
REFERENCE_PAIRS = EVERYDAY_PAIRS  # fixed pairs whose logits the delta must reproduce


def add_arguments(parser) -> None:
    parser.add_argument("checkpoint", help="folder written by `explorer train`")
    parser.add_argument("--out", required=True, help="folder for the delta")
    parser.add_argument("--base", default=BUNDLED_UNTRAINED, help="model source the delta is applied to when loaded")
    parser.add_argument(
        "--reference",
        help="model to check the frozen tensors against (default: --base); use it "
        "where the base package is not installed but a copy of its weights is",
    )


def run(args) -> int:
    try:
        loaded = load_model(args.checkpoint, "cpu")
        reference = load_model(args.reference or args.base, "cpu")
    except ModelLoadError as err:
        raise CommandError(str(err)) from err
    problem = frozen_problem(loaded.model, reference.model)
    if problem:
        raise CommandError(f"{problem} (base: {args.reference or args.base!r})")
    # Logits of the full-precision model on fixed pairs, so tests can check that base + delta reproduces it.
    pairs = [(p.a, p.b) for p in read_pairs(REFERENCE_PAIRS)]
    info = {
        "checkpoint": str(args.checkpoint),
        "reference_pairs": REFERENCE_PAIRS.name,
        "reference_logits": score_pairs(loaded, pairs).round(6).tolist(),
    }
    try:
        save_delta(loaded.model, args.out, base=args.base, info=info)
    except OSError as err:
        raise CommandError(f"Cannot write {args.out}: {err.strerror or err}.") from None
    print(f"wrote {args.out}")
    return 0
