"""Fitting a run to its time limit: measure the speed over the first steps, then plan the rest.

A run with a time limit and a schedule planned in steps ends wherever the clock stops it. On a machine four
times slower than the one the preset was tuned on, the learning rate is then still high when time runs out
and the held-out curve has not come down yet. With `fit_to_time` the trainer times PROBE_STEPS steps (after
one untimed step that pays one-off costs) and its first held-out evaluation, and plans how many steps fit in
the time left with the evaluations it will make; the warmup-then-linear-decay schedule and the evaluation
points are then laid over that many steps, so every machine gets a whole schedule that ends on time.

The plan is a pure function of the measured seconds, so it is the same on every run that measures the same
speed (tested with a fake clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PROBE_STEPS = 5  # steps timed to measure the speed (after the first, untimed one)
SAFETY = 0.97  # plan for this share of the time left: steps vary a little in length
MAX_EVALS_IN_RUN = 2  # held-out evaluations during the run; one more follows the last step
EVAL_SHARE = 0.2  # ...but together they take at most this share of the time left (a slow CPU makes fewer)
MIN_STEPS = PROBE_STEPS + 1


@dataclass(frozen=True)
class TimePlan:
    steps: int  # total steps of the run, the measured ones included
    eval_every: int
    seconds_per_step: float
    seconds_per_eval: float


def plan_for_time(
    max_seconds: float,
    step_cap: int,
    steps_done: int,
    elapsed: float,
    seconds_per_step: float,
    seconds_per_eval: float,
) -> TimePlan:
    """How many steps fit in the time left (at most step_cap), and how often to evaluate on the way.

    elapsed: training seconds already spent (the measured steps); the evaluations during the run also take
    their share of the limit, the one after the last step does not (as for any run with a time limit).
    """
    left = max_seconds - elapsed
    evals = evals_in_run(left, seconds_per_eval)
    budget = left * SAFETY - evals * seconds_per_eval
    more = math.floor(max(0.0, budget) / max(seconds_per_step, 1e-9))
    steps = max(MIN_STEPS, min(step_cap, steps_done + more))
    return TimePlan(
        steps=steps,
        eval_every=max(1, math.ceil(steps / (evals + 1))),
        seconds_per_step=seconds_per_step,
        seconds_per_eval=seconds_per_eval,
    )


def evals_in_run(seconds_left: float, seconds_per_eval: float) -> int:
    """Evaluations during the run: MAX_EVALS_IN_RUN, or fewer where they would eat over EVAL_SHARE of the time."""
    affordable = math.floor(EVAL_SHARE * seconds_left / max(seconds_per_eval, 1e-9))
    return max(0, min(MAX_EVALS_IN_RUN, affordable))
