"""`export-delta`: store a fine-tuned checkpoint as fp16 shards of what differs from its base model."""

from __future__ import annotations

from explorer.cli import CommandError
from explorer.delta import FROZEN_BY_DEFAULT, save_delta
from explorer.models import BUNDLED_UNTRAINED, ModelLoadError, load_model

HELP = "Write a checkpoint as a delta folder (base model + stored tensors), as shipped in explorer/data/minilm_nsp."


def add_arguments(parser) -> None:
    parser.add_argument("checkpoint", help="folder written by `explorer train`")
    parser.add_argument("--out", required=True, help="folder for the delta")
    parser.add_argument("--base", default=BUNDLED_UNTRAINED, help="model source the delta is applied to")


def run(args) -> int:
    try:
        loaded = load_model(args.checkpoint, "cpu")
        base = load_model(args.base, "cpu")
    except ModelLoadError as err:
        raise CommandError(str(err)) from err
    own, ref = loaded.model.state_dict(), base.model.state_dict()
    for key in FROZEN_BY_DEFAULT:
        if key not in own or key not in ref or own[key].shape != ref[key].shape:
            raise CommandError(f"{key} does not match between the checkpoint and the base {args.base!r}.")
        drift = (own[key] - ref[key]).abs().max().item()
        if drift > 1e-3:  # fp16 copies of the base are fine; real training of the frozen tensor is not
            raise CommandError(f"{key} was changed by training (max difference {drift:.4g}); it must stay frozen.")
    save_delta(loaded.model, args.out, base=args.base, info={"checkpoint": str(args.checkpoint)})
    print(f"wrote {args.out}")
    return 0
