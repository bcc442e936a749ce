"""`explain`: why the model answers what it does for one pair (attention, IG, occlusion, deletion curves)."""

from __future__ import annotations

import json

import numpy as np

from explorer.attribution import DEFAULT_IG_STEPS
from explorer.cli import CommandError
from explorer.device import DEVICE_NAMES
from explorer.encoding import DEFAULT_MAX_LENGTH, PairInputError
from explorer.explain import METHODS, TooLongToExplain, explain, explanation_to_dict
from explorer.models import DEFAULT_SOURCE, ModelLoadError, load_model

HELP = "Explain one pair's NSP answer: attention from [CLS], integrated gradients, occlusion, deletion curves."


def add_arguments(parser) -> None:
    parser.add_argument("a", help="sentence A")
    parser.add_argument("b", help="sentence B")
    parser.add_argument("--method", choices=METHODS, default="ig", help="which explanation (default: ig)")
    parser.add_argument("--model", default=DEFAULT_SOURCE, help="bundled model, local folder or hub id")
    parser.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    parser.add_argument("--steps", type=int, default=DEFAULT_IG_STEPS, help="integration steps for ig and deletion")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    try:
        loaded = load_model(args.model, args.device)
        done = explain(loaded, args.a, args.b, args.method, args.max_length, args.steps)
    except (ModelLoadError, PairInputError, TooLongToExplain, ValueError) as err:
        raise CommandError(str(err)) from err
    data = {"model": args.model, "method": args.method, **explanation_to_dict(done)}
    if args.json:
        print(json.dumps(data))
        return 0
    for note in filter(None, [loaded.device_message, *loaded.notes]):
        print(f"note: {note}")
    _print_words(data)
    return 0


def _print_words(data: dict) -> None:
    words = data["words"]
    columns = {
        "rollout": data.get("attention", {}).get("rollout_per_word"),
        "IG": data.get("integrated_gradients", {}).get("per_word"),
        "occlusion": data.get("occlusion", {}).get("per_word"),
    }
    columns = {name: values for name, values in columns.items() if values is not None}
    print("part  word            " + "".join(f"{name:>12}" for name in columns))
    for n, word in enumerate(words):
        print(f"{word['part']:<5} {word['text']:<15} " + "".join(f"{v[n]:>+12.4f}" for v in columns.values()))
    if "attention" in data:
        shares = np.asarray(data["attention"]["cls_shares"]["per_layer_head"]).mean(axis=1)
        for layer, row in enumerate(shares):
            parts = "  ".join(f"{p} {s:.3f}" for p, s in zip(data["attention"]["cls_shares"]["parts"], row))
            print(f"layer {layer}: [CLS] attends (mean of heads)  {parts}")
    if "integrated_gradients" in data:
        ig = data["integrated_gradients"]
        print(
            f"IG ({ig['steps']} steps, target log p(IsNext)): sum {ig['sum']:+.6f} vs f(pair) - f(baseline) "
            f"{ig['f_pair'] - ig['f_baseline']:+.6f}; completeness error {ig['completeness_error']:.6f}"
        )
    if "deletion" in data:
        dl = data["deletion"]
        print(f"deletion curves, p({dl['answer']}), area under each (lower = more faithful):")
        for name, area in dl["area_under_curve"].items():
            print(f"  {name:<22} {area:.4f}")
