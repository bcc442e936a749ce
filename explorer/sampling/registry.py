"""The pair modes, declared once: each is one PairMode subclass, registered here by its name.

The `sample` command's --mode, the Train tab's and the Sample tab's choices and their labels all read
this registry (through explorer.sampling.MODES and MODE_DESCRIPTIONS). Adding a mode is one new module
in explorer/sampling/modes/ with a class decorated by @register_mode, imported by that package.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from explorer.sampling.pairs import Pair
    from explorer.sampling.sampler import PairSampler


class PairMode(ABC):
    """How one sampler builds the pairs of its mode; one instance per sampler, holding the mode's state."""

    name: ClassVar[str]
    description: ClassVar[str]  # how the CLI's help, the Train tab and the Sample tab name the mode
    # The names of label 1 and of its share, for the page ("NotNext", or "swapped" for sentence order).
    negative_name: ClassVar[str] = "NotNext"
    positive_name: ClassVar[str] = "IsNext"  # the name of label 0
    task: ClassVar[str] = "NSP"  # the task a model trained on this mode's pairs learns
    # Whether NotNext B comes from another place at all, so that hard and similar negatives apply.
    draws_negatives: ClassVar[bool] = True
    rationale: ClassVar[str] = ""  # why the mode exists, shown next to it on the page (empty: nothing)

    def __init__(self, sampler: PairSampler):
        self.sampler = sampler

    @abstractmethod
    def draw(self, label: int) -> Pair:
        """The next pair of this label (raises SamplingError when the corpus cannot give one)."""


PAIR_MODES: dict[str, type[PairMode]] = {}


def register_mode(mode: type[PairMode]) -> type[PairMode]:
    """Make a mode known to the sampler, the CLI and the page, in the order modes are registered."""
    if mode.name in PAIR_MODES:
        raise ValueError(f"pair mode {mode.name!r} is registered twice")
    PAIR_MODES[mode.name] = mode
    return mode
