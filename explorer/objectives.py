"""NSP vs sentence order vs no sentence objective: ALBERT's Table 5 in miniature, measured with our models.

Rows are models, columns are tasks. Each task is a set of labelled pairs drawn from documents that no shipped
model trained on: BERT's NSP recipe and ALBERT's sentence order (SOP), on the test half of the held-out
sotu+wiki documents and on the news corpus, which no training step used. Every cell is
`explorer.evaluate.evaluate_pairs`, the function `explorer eval` runs, so any cell can be re-checked with
`explorer eval` on the pairs `explorer objectives --save-pairs DIR` writes.

Label 0 means IsNext for an NSP pair and "in order" for an SOP pair, so a model's p(label 0) is read as
p(IsNext) or p(in order) by the task, not by the model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.corpus import Corpus, CorpusError, load_corpus, without_documents
from explorer.encoding import DEFAULT_MAX_LENGTH
from explorer.evaluate import LabelledPair, evaluate_pairs
from explorer.labels import IS_NEXT
from explorer.models import BUNDLED_SOP, BUNDLED_TRAINED, BUNDLED_UNTRAINED, LoadedModel
from explorer.nsp import score_pairs, softmax
from explorer.sampling import PairSampler
from explorer.training.config import TrainConfig, TrainConfigError
from explorer.training.data import heldout_halves, trained_documents

HELDOUT_CORPUS = "sotu+wiki"  # what both shipped models trained on (their held-out test half is used here)
NEWS_CORPUS = "news"  # never trained on
PAIRS_PER_CELL = 2000
MAX_PAIRS_PER_CELL = 20_000
MAX_RUN_ANCESTRY = 16  # runs followed back through base_model (a run trained from a run...)
WEAK_FLIP = 0.2  # a flip that moves p(label 0) by less than this is reported as "barely"
OWN_DRAW_MARK = " †"
OWN_DRAW_NOTE = (
    "† trained on some of the documents a task draws from, so scored there on pairs drawn again (same seed) from "
    "the documents it did not train on"
)
TABLE_FILE = Path(__file__).resolve().parent / "data" / "objectives.json"


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    mode: str  # a pair mode of explorer.sampling: "bert" (NSP) or "sop"
    corpus: str  # "heldout" (the test half of the held-out documents) or a corpus name
    seed: int


TASKS = (
    Task("nsp_heldout", "NSP · held-out", "bert", "heldout", 31),
    Task("sop_heldout", "SOP · held-out", "sop", "heldout", 32),
    Task("nsp_news", "NSP · news", "bert", NEWS_CORPUS, 33),
    Task("sop_news", "SOP · news", "sop", NEWS_CORPUS, 34),
)

# The rows of the shipped table: which sentence objective trained each bundled model.
SHIPPED_ROWS = (
    (BUNDLED_UNTRAINED, "none (untrained head)"),
    (BUNDLED_TRAINED, "NSP"),
    (BUNDLED_SOP, "SOP"),
)

# ALBERT Table 5 (Lan et al., 2020; docs/nsp-reference.md): intrinsic accuracy, %, of ALBERT-base models
# pretrained with each sentence objective, on NSP and SOP pairs of their own held-out data.
ALBERT_TABLE5 = {"NSP": {"nsp": 90.5, "sop": 52.0}, "SOP": {"nsp": 78.9, "sop": 86.5}}

ORDER_NOTE = (
    "A model trained on NSP learns mostly whether A and B share a topic, and a swapped pair shares its topic just "
    "as much: so it gives nearly the same answer both ways. A model trained on sentence order has to notice what "
    "makes B follow A (a pronoun that needs its noun, 'then', an answer after its question), so its answer flips "
    "when the pair is swapped. That is why ALBERT replaced NSP with SOP: in ALBERT's Table 5 the NSP-trained model "
    "scores 90.5% on NSP but 52.0% (chance) on SOP, the SOP-trained model 86.5% on SOP and still 78.9% on NSP."
)


class ObjectivesError(ValueError):
    """The table cannot be computed as asked; the message says why."""


def task_corpus(task: Task) -> Corpus:
    return heldout_halves(HELDOUT_CORPUS)[1] if task.corpus == "heldout" else load_corpus(task.corpus)


def labelled_pairs(corpus: Corpus, tokenizer, mode: str, n: int, seed: int) -> list[LabelledPair]:
    """n pairs of a pair mode at 128 tokens, as the (a, b, label) pairs `explorer eval` reads."""
    sampler = PairSampler(corpus, tokenizer, mode=mode, max_length=DEFAULT_MAX_LENGTH, seed=seed)
    return [LabelledPair(p.a, p.b, p.label) for p in sampler.sample_many(n)]


def task_pairs(task: Task, tokenizer, n: int) -> list[LabelledPair]:
    """n labelled pairs of the task: BERT's or ALBERT's recipe at 128 tokens, the same for every model."""
    return labelled_pairs(task_corpus(task), tokenizer, task.mode, n, task.seed)


def check_pairs_per_cell(n: int) -> None:
    if not 1 <= n <= MAX_PAIRS_PER_CELL:
        raise ObjectivesError(f"pairs per cell must be from 1 to {MAX_PAIRS_PER_CELL:,}, got {n}")


def all_task_pairs(tokenizer, n: int) -> dict[str, list[LabelledPair]]:
    check_pairs_per_cell(n)
    return {task.key: task_pairs(task, tokenizer, n) for task in TASKS}


def _training_info(source: str) -> dict | None:
    """A folder's training_info.json (written by a run of this project), or None."""
    try:
        info = json.loads((Path(source) / "training_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("config"), dict) else None


def documents_trained_on(source: str) -> set[tuple[str, ...]]:
    """The documents a model trained here saw, from its training_info.json, and its base model's when that was
    trained here too. Empty for any other model: the shipped ones trained only on documents the tasks leave out."""
    seen: set[tuple[str, ...]] = set()
    runs: set[str] = set()
    while (info := _training_info(source)) is not None and source not in runs and len(runs) < MAX_RUN_ANCESTRY:
        runs.add(source)
        config = TrainConfig.from_dict(info["config"])
        try:
            seen.update(tuple(doc) for doc in trained_documents(config))
        except (CorpusError, TrainConfigError) as err:
            raise ObjectivesError(
                f"cannot tell which documents {source} trained on ({err}), so its held-out cells would not be honest"
            ) from err
        source = config.base_model
    return seen


def unseen_task_pairs(
    tokenizer, n: int, left_out: set[tuple[str, ...]], shared: dict[str, list[LabelledPair]]
) -> dict[str, list[LabelledPair]]:
    """The tasks' pairs for a model that trained on `left_out`: a task whose documents it saw is drawn again (same
    seed) from the rest of its documents; the others keep the `shared` pairs every row is scored on."""
    pairs = {}
    for task in TASKS:
        corpus = task_corpus(task)
        unseen = without_documents(corpus, left_out)
        if len(unseen.documents) == len(corpus.documents):
            pairs[task.key] = shared[task.key]
        elif len(unseen.documents) < 2:
            raise ObjectivesError(f"the model trained on (almost) every document of the task {task.title!r}")
        else:
            pairs[task.key] = labelled_pairs(unseen, tokenizer, task.mode, n, task.seed)
    return pairs


def model_row(loaded: LoadedModel, objective: str, pairs: dict[str, list[LabelledPair]], batch_size: int = 64) -> dict:
    """One row of the table: accuracy, mean cross-entropy and pair count of the model on every task."""
    started = time.perf_counter()
    cells = {}
    for task in TASKS:
        report = evaluate_pairs(loaded, pairs[task.key], max_length=DEFAULT_MAX_LENGTH, batch_size=batch_size)
        cells[task.key] = {"accuracy": report.accuracy, "mean_loss": report.mean_loss, "n": report.n}
    return {
        "source": loaded.source,
        "model": loaded.display_name,
        "objective": objective,
        "cells": cells,
        "seconds": time.perf_counter() - started,
    }


def cross_table(models: list[tuple[LoadedModel, str]], n: int, progress: Callable[[str], None] | None = None) -> dict:
    """The table for (model, objective) rows, with `n` pairs per cell drawn once and shared by all rows."""
    if not models:
        raise ObjectivesError("no model to put in the table")
    started = time.perf_counter()
    pairs = all_task_pairs(models[0][0].tokenizer, n)
    rows = []
    for loaded, objective in models:
        if progress:
            progress(f"scoring {loaded.display_name} on {len(TASKS)} x {n} pairs")
        # A model trained here may have trained on documents the tasks hold out: it is scored on the rest.
        left_out = documents_trained_on(loaded.source)
        own = unseen_task_pairs(loaded.tokenizer, n, left_out, pairs) if left_out else pairs
        row = model_row(loaded, objective, own)
        row["own_draw"] = [task.key for task in TASKS if own[task.key] is not pairs[task.key]]
        rows.append(row)
    return table_of(rows, n, time.perf_counter() - started)


def table_of(rows: list[dict], n: int, seconds: float) -> dict:
    """The table as it is printed, stored and shown: the tasks, the model rows and ALBERT's published rows."""
    return {
        "pairs_per_cell": n,
        "max_length": DEFAULT_MAX_LENGTH,
        "tasks": [{"key": t.key, "title": t.title, "mode": t.mode, "corpus": t.corpus, "seed": t.seed} for t in TASKS],
        "rows": rows,
        "albert_table5": ALBERT_TABLE5,
        "seconds": seconds,
    }


def write_task_pairs(pairs: dict[str, list[LabelledPair]], folder: Path) -> list[Path]:
    """One JSON-lines file a task (a, b, label), the format `explorer eval` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key, task_list in pairs.items():
        path = folder / f"{key}.jsonl"
        lines = (json.dumps({"a": p.a, "b": p.b, "label": p.label}) for p in task_list)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written


def read_shipped_table(path: Path = TABLE_FILE) -> dict | None:
    """The table measured for the bundled models (written by `explorer objectives --out`), or None."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class OrderAnswer:
    """One model's p(label 0) for A->B and for the swapped B->A."""

    forward: float
    swapped: float

    @property
    def flips(self) -> bool:
        """The model prefers A->B in one order and not in the other."""
        return (self.forward >= 0.5) != (self.swapped >= 0.5)

    @property
    def flip_words(self) -> str:
        """ "yes", "no", or "barely" for a flip of less than WEAK_FLIP in p (0.502 -> 0.496 is not an opinion)."""
        if not self.flips:
            return "no"
        return "yes" if abs(self.forward - self.swapped) >= WEAK_FLIP else "barely"


def order_answer(loaded: LoadedModel, a: str, b: str, max_length: int = DEFAULT_MAX_LENGTH) -> OrderAnswer:
    """The model's p(label 0) for the pair as given and for the pair swapped, scored in one batch."""
    logits = score_pairs(loaded, [(a, b), (b, a)], max_length=max_length, batch_size=2)
    p = softmax(np.asarray(logits))[:, IS_NEXT]
    return OrderAnswer(float(p[0]), float(p[1]))


def table_rows_for_display(table: dict) -> list[dict]:
    """The table as display rows: objective, model, one accuracy (%) a task, and ALBERT's row where it has one.

    Columns are named by this module's TASKS (matched by key), so a stored table reads the same after a rename."""
    tasks = [task for task in TASKS if any(t["key"] == task.key for t in table["tasks"])]
    rows = []
    for row in table["rows"]:
        shown = {"objective": row["objective"], "model": row["model"] + (OWN_DRAW_MARK if row.get("own_draw") else "")}
        shown.update({task.title: 100 * row["cells"][task.key]["accuracy"] for task in tasks})
        rows.append(shown)
    for objective, scores in table.get("albert_table5", {}).items():
        shown = {"objective": objective, "model": "ALBERT-base (published, Table 5)"}
        for task in tasks:
            if task.corpus == "heldout":
                shown[task.title] = scores["nsp" if task.mode == "bert" else "sop"]
        rows.append(shown)
    return rows


def objective_of(source: str) -> str:
    """The sentence objective a model was trained with: the shipped ones by name, a training run by its log."""
    shipped = dict(SHIPPED_ROWS)
    if source in shipped:
        return shipped[source]
    info = _training_info(source)
    mode = info["config"].get("mode") if info else None
    if mode is None:
        return "unknown"
    return f"{'SOP' if mode == 'sop' else 'NSP'} (trained here)"
