"""Curated classroom pairs, written for this project, with their true labels and a teaching note."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from explorer.labels import LABEL_NAMES, label_from_name

EXAMPLES_PATH = Path(__file__).resolve().parent / "data" / "classroom_pairs.jsonl"
# 44 labelled everyday pairs: the Evaluate tab's default file and the shipped model's reference pairs.
EVERYDAY_PAIRS = Path(__file__).resolve().parent / "data" / "everyday_pairs.csv"


@dataclass(frozen=True)
class ClassroomExample:
    id: str
    topic: str
    a: str
    b: str
    label: int  # 0 IsNext, 1 NotNext
    note: str
    tricky: bool  # same topic but not consecutive, or consecutive across a topic shift

    @property
    def label_name(self) -> str:
        return LABEL_NAMES[self.label]

    def title(self) -> str:
        return f"{self.topic}: {self.a[:48]}{'…' if len(self.a) > 48 else ''}" + (" (tricky)" if self.tricky else "")


def parse_example(line: str) -> ClassroomExample:
    row = json.loads(line)
    return ClassroomExample(
        id=row["id"],
        topic=row["topic"],
        a=row["a"],
        b=row["b"],
        label=label_from_name(row["label"]),
        note=row["note"],
        tricky=bool(row.get("tricky", False)),
    )


@functools.lru_cache(maxsize=1)
def load_examples(path: Path = EXAMPLES_PATH) -> tuple[ClassroomExample, ...]:
    with open(path, encoding="utf-8") as handle:
        return tuple(parse_example(line) for line in handle if line.strip())


def example_by_id(example_id: str) -> ClassroomExample:
    for example in load_examples():
        if example.id == example_id:
            return example
    raise KeyError(example_id)
