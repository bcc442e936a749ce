"""What a training run reports, as typed events: the loop yields them, the run manager keeps them, the charts,
the CSV log, the summary and the `train` command read them. `to_dict()` is their JSON form (with "kind")."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar


@dataclass
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        data.update({f.name: getattr(self, f.name) for f in fields(self)})
        return data


@dataclass
class StartEvent(Event):
    total_steps: int
    device: str
    bf16: bool
    trainable_params: int
    total_params: int
    train_documents: int
    heldout_documents: int
    eval_pairs: int
    chance_loss: float  # best loss of a constant guess: H(NotNext share), ln 2 at 50/50
    # Accuracy of always giving the more frequent label: max(q, 1 - q), 50% at 50/50 (held-out pairs share q).
    chance_accuracy: float = 0.5
    world_size: int = 1  # training processes (torchrun); 1 without it
    batch_per_rank: int = 0  # pairs each process trains per step
    global_batch: int = 0  # pairs per optimizer step over all processes: batch_per_rank x world_size
    kind: ClassVar[str] = "start"


@dataclass
class StepEvent(Event):
    step: int
    loss: float  # the loss that was minimised (NSP, or MLM + NSP)
    lr: float  # encoder learning rate at this step
    elapsed: float  # seconds since the first step began, evaluations included
    steps_per_s: float  # training steps only, evaluation time excluded
    nsp_loss: float | None = None
    mlm_loss: float | None = None
    kind: ClassVar[str] = "step"


@dataclass
class PlanEvent(Event):
    """A run fitted to its time limit (TrainConfig.fit_to_time) says how many steps its measured speed allows."""

    steps: int  # the run's total steps from now on (the schedule decays to zero there)
    evaluations: int  # held-out evaluations during the run, at even shares of it (one more at the end)
    steps_per_s: float  # measured so far (the first, slower steps left out)
    seconds_per_eval: float  # the first held-out evaluation, timed
    kind: ClassVar[str] = "plan"


@dataclass
class EvalEvent(Event):
    step: int
    heldout_loss: float
    accuracy: float
    elapsed: float
    kind: ClassVar[str] = "eval"


@dataclass
class EndEvent(Event):
    status: str  # finished | stopped | error
    step: int
    elapsed: float
    message: str = ""
    kind: ClassVar[str] = "end"


E = TypeVar("E", bound="Event")

EVENT_TYPES: dict[str, type[Event]] = {cls.kind: cls for cls in (StartEvent, PlanEvent, StepEvent, EvalEvent, EndEvent)}


def event_from_dict(data: dict[str, Any]) -> Event:
    """The event a JSON line (`to_dict()`) describes: reads back logs written by `train --json`."""
    cls = EVENT_TYPES[data["kind"]]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def of_type(events: list[Event], cls: type[E]) -> list[E]:
    """The events of one type, in order (e.g. every StepEvent for the loss curve)."""
    return [e for e in events if isinstance(e, cls)]


def first_of(events: list[Event], cls: type[E]) -> E | None:
    return next((e for e in events if isinstance(e, cls)), None)


def last_of(events: list[Event], cls: type[E]) -> E | None:
    return next((e for e in reversed(events) if isinstance(e, cls)), None)


def planned_steps(events: list[Event]) -> int | None:
    """The run's total steps: its time plan's when it was fitted to its time limit, else its start's."""
    plan = last_of(events, PlanEvent)
    if plan is not None:
        return plan.steps
    start = first_of(events, StartEvent)
    return start.total_steps if start is not None else None
