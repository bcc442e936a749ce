"""`score`: run the NSP head on one pair and print the steps (or one JSON object)."""

from __future__ import annotations

import json

from explorer.cli import CommandError
from explorer.device import DEVICE_NAMES
from explorer.encoding import DEFAULT_MAX_LENGTH, PairInputError
from explorer.labels import LABEL_NAMES, label_from_name
from explorer.models import DEFAULT_SOURCE, ModelLoadError, load_model
from explorer.nsp import NspResult, score_pair

HELP = "Score one sentence pair with a BERT NSP head."


def add_arguments(parser) -> None:
    parser.add_argument("a", help="sentence A")
    parser.add_argument("b", help="sentence B")
    parser.add_argument("--label", choices=["isnext", "notnext"], help="true label, to compute the loss")
    parser.add_argument("--model", default=DEFAULT_SOURCE, help="bundled model, local folder or hub id")
    parser.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def result_to_dict(result: NspResult, model_source: str) -> dict:
    enc = result.encoding
    out = {
        "model": model_source,
        "device": result.device,
        "tokens": enc.tokens,
        "input_ids": enc.input_ids,
        "token_type_ids": enc.token_type_ids,
        "attention_mask": enc.attention_mask,
        "positions": enc.positions,
        "truncated": {"a": enc.cut_a, "b": enc.cut_b},
        "logits": [float(x) for x in result.logits],
        "probabilities": {name: float(p) for name, p in zip(LABEL_NAMES, result.probabilities)},
        "prediction": LABEL_NAMES[result.predicted],
        "forward_ms": result.seconds * 1000,
    }
    if result.label is not None:
        out["label"] = LABEL_NAMES[result.label]
        out["loss"] = result.loss
    return out


def run(args) -> int:
    label = None if args.label is None else label_from_name(args.label)
    try:
        loaded = load_model(args.model, args.device)
        result = score_pair(loaded, args.a, args.b, label=label, max_length=args.max_length)
    except (ModelLoadError, PairInputError) as err:
        raise CommandError(str(err)) from err
    data = result_to_dict(result, args.model)
    if args.json:
        print(json.dumps(data))
        return 0
    for note in filter(None, [loaded.device_message, *loaded.notes]):
        print(f"note: {note}")
    print(" ".join(data["tokens"]))
    print(f"logits  IsNext {data['logits'][0]:+.4f}  NotNext {data['logits'][1]:+.4f}")
    print(f"p       IsNext {data['probabilities']['IsNext']:.4f}  NotNext {data['probabilities']['NotNext']:.4f}")
    if label is not None:
        print(f"CE = -log p({LABEL_NAMES[label]}) = {result.loss:.6f}")
    print(f"device {result.device}, forward {data['forward_ms']:.1f} ms")
    return 0
