"""The pair the Sample tab shows: a sampled pair (with where it came from) or a classroom example."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.corpus import Corpus
from explorer.examples import ClassroomExample
from explorer.labels import LABEL_NAMES, NOT_NEXT
from explorer.sampling.pairs import Pair
from explorer.sampling.registry import PAIR_MODES


@dataclass(frozen=True)
class ShownPair:
    a: str
    b: str
    label: int  # 0 IsNext (or in order), 1 NotNext (or swapped)
    mode: str  # the pair mode it was built by (a classroom example is a pair of single sentences)
    source: str  # where it came from, for a caption: document titles or the example's id
    # What may be shown before the student guesses: B's document would give the answer away (same document =
    # IsNext), so only A's.
    source_before_guess: str = ""
    doc_a: int | None = None  # documents of the corpus sampled from; None for a classroom example
    doc_b: int | None = None
    tokens: tuple[int, int] | None = None  # WordPiece tokens of A and B after truncation, when sampled
    note: str = ""  # why the label is what it is (classroom examples)

    @classmethod
    def sampled(cls, pair: Pair, corpus: Corpus) -> ShownPair:
        return cls(
            a=pair.a,
            b=pair.b,
            label=pair.label,
            mode=pair.mode,
            source=f"{corpus.title(pair.doc_a)} → {corpus.title(pair.doc_b)}",
            source_before_guess=f"A from {corpus.title(pair.doc_a)}; B's source after your guess",
            doc_a=pair.doc_a,
            doc_b=pair.doc_b,
            tokens=(len(pair.a_ids), len(pair.b_ids)),
        )

    @classmethod
    def example(cls, chosen: ClassroomExample) -> ShownPair:
        return cls(
            a=chosen.a,
            b=chosen.b,
            label=chosen.label,
            mode="sentences",
            source=f"classroom example {chosen.id}",
            source_before_guess=f"classroom example {chosen.id}",
            note=chosen.note,
        )

    @property
    def truth_name(self) -> str:
        """The label in the words of the pair's mode: "swapped" for label 1 of sentence order, else its name."""
        return PAIR_MODES[self.mode].negative_name if self.label == NOT_NEXT else LABEL_NAMES[self.label]
