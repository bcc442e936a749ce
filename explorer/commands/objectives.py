"""`objectives`: NSP vs sentence order vs no sentence objective, the cross table of models and tasks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from explorer.cli import CommandError
from explorer.corpus import CorpusError
from explorer.device import DEVICE_NAMES
from explorer.models import BUNDLED_SOURCES, ModelLoadError, load_model
from explorer.objectives import (
    OWN_DRAW_NOTE,
    PAIRS_PER_CELL,
    SHIPPED_ROWS,
    TASKS,
    ObjectivesError,
    all_task_pairs,
    cross_table,
    objective_of,
    table_rows_for_display,
    write_task_pairs,
)
from explorer.sampling import SamplingError

HELP = (
    "Accuracy of models trained with no sentence objective, NSP and sentence order (SOP) on held-out NSP and "
    "SOP pairs and on news, beside ALBERT's published Table 5."
)


def add_arguments(parser) -> None:
    parser.add_argument("--pairs", type=int, default=PAIRS_PER_CELL, help="pairs per cell (default 2000)")
    parser.add_argument(
        "--model", action="append", default=[], help="a further row: a trained folder or hub id (repeatable)"
    )
    parser.add_argument("--only", action="store_true", help="only the --model rows, not the bundled models")
    parser.add_argument("--device", default="auto", choices=DEVICE_NAMES)
    parser.add_argument("--save-pairs", metavar="DIR", help="also write each task's pairs as JSON lines for `eval`")
    parser.add_argument("--out", metavar="FILE", help="also write the table as JSON to FILE")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _sources(args) -> list[str]:
    shipped = [] if args.only else [source for source, _ in SHIPPED_ROWS if source in BUNDLED_SOURCES]
    sources = shipped + [m for m in args.model if m not in shipped]
    if not sources:
        raise CommandError("no model to score: give --model, or leave out --only")
    return sources


def _print_table(table: dict) -> None:
    titles = [task.title for task in TASKS if any(t["key"] == task.key for t in table["tasks"])]
    rows = table_rows_for_display(table)
    names = [f"{row['objective']} · {row['model']}" for row in rows]
    width = max(len(name) for name in names)
    print(f"accuracy (%), {table['pairs_per_cell']} pairs per task, {table['seconds']:.0f} s")
    for i, title in enumerate(titles):
        print(f"  [{i + 1}] {title}")
    print(f"  {'objective · model':<{width}} " + " ".join(f"{f'[{i + 1}]':>6}" for i in range(len(titles))))
    for name, row in zip(names, rows, strict=True):
        print(f"  {name:<{width}} " + " ".join(f"{row[t]:6.1f}" if t in row else f"{'-':>6}" for t in titles))
    if any(row.get("own_draw") for row in table["rows"]):
        print(f"  {OWN_DRAW_NOTE}")


def _check_destinations(args) -> None:
    """Refuse a path the results could not be written to before minutes of scoring, not after."""
    if args.out:
        out = Path(args.out)
        if out.is_dir() or not out.parent.is_dir():
            raise CommandError(f"cannot write the table to {out}: give a file in an existing folder")
    if args.save_pairs and Path(args.save_pairs).exists() and not Path(args.save_pairs).is_dir():
        raise CommandError(f"cannot write the pairs to {args.save_pairs}: it is a file, not a folder")


def run(args) -> int:
    sources = _sources(args)
    _check_destinations(args)
    try:
        models = [(load_model(source, args.device), objective_of(source)) for source in sources]
        if args.save_pairs:
            write_task_pairs(all_task_pairs(models[0][0].tokenizer, args.pairs), Path(args.save_pairs))
        progress = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
        table = cross_table(models, args.pairs, progress)
        if args.out:
            Path(args.out).write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    except (ObjectivesError, ModelLoadError, CorpusError, SamplingError) as err:
        raise CommandError(str(err)) from err
    except OSError as err:
        raise CommandError(f"cannot write: {err.strerror or err}") from err
    if args.json:
        print(json.dumps(table))
    else:
        _print_table(table)
    return 0
