"""Fitting a run to its time limit: measure the speed as it trains, and keep the schedule ending on time.

A run with a time limit and a schedule planned in steps ends wherever the clock stops it. On a machine four
times slower than the one the preset was tuned on, the learning rate is then still high when time runs out
and the held-out curve has not come down yet. With `fit_to_time` the trainer times its steps (after
UNTIMED_STEPS that pay one-off costs: kernel choice, memory pools) and its first held-out evaluation, and
after PROBE_STEPS timed steps plans how many steps fit in the time left together with the evaluations it
will make. It plans again after every step from the speed measured so far, so a run that speeds up after
its first steps, or slows down when another process starts, still ends its schedule near the limit. The
warmup-then-linear-decay schedule is laid over the planned steps, and the evaluations fall at even shares
of them.

Each plan is a pure function of the measured seconds, so runs that measure the same speed plan the same
run (tested with a fake clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

UNTIMED_STEPS = 3  # the first steps are slower (one-off costs); they are not timed
PROBE_STEPS = 5  # timed steps before the first plan
SAFETY = 0.97  # plan for this share of the time left: steps vary a little in length
MAX_EVALS_IN_RUN = 2  # held-out evaluations during the run; one more follows the last step
EVAL_SHARE = 0.2  # ...but together they take at most this share of the time (a slow CPU makes fewer)
MIN_STEPS = UNTIMED_STEPS + PROBE_STEPS


@dataclass(frozen=True)
class TimePlan:
    steps: int  # total steps of the run, those already made included
    seconds_per_step: float
    seconds_per_eval: float


def evals_in_run(seconds_left: float, seconds_per_eval: float) -> int:
    """Evaluations during the run: MAX_EVALS_IN_RUN, or fewer where they would eat over EVAL_SHARE of the time."""
    affordable = math.floor(EVAL_SHARE * seconds_left / max(seconds_per_eval, 1e-9))
    return max(0, min(MAX_EVALS_IN_RUN, affordable))


def plan_for_time(
    max_seconds: float,
    step_cap: int,
    steps_done: int,
    elapsed: float,
    seconds_per_step: float,
    seconds_per_eval: float,
    evals_left: int,
) -> TimePlan:
    """How many steps fit in the time left (at most step_cap) next to `evals_left` evaluations.

    elapsed: seconds of the run so far, evaluations included (they share the limit); the evaluation after
    the last step comes after the limit, as for any run with a time limit.
    """
    budget = (max_seconds - elapsed) * SAFETY - evals_left * seconds_per_eval
    more = math.floor(max(0.0, budget) / max(seconds_per_step, 1e-9))
    steps = max(MIN_STEPS, min(step_cap, steps_done + more))
    return TimePlan(steps=steps, seconds_per_step=seconds_per_step, seconds_per_eval=seconds_per_eval)


def eval_due(step: int, total_steps: int, evals_done: int, evals_planned: int) -> bool:
    """Whether the next of `evals_planned` evaluations, at even shares of the run, falls at this step."""
    if evals_done >= evals_planned or step >= total_steps:
        return False
    return step >= math.ceil(total_steps * (evals_done + 1) / (evals_planned + 1))


def worth_reporting(previous: int | None, steps: int) -> bool:
    """A new plan is reported when it is the first or moves the end by more than 2 steps and 3%."""
    return previous is None or abs(steps - previous) > max(2, 0.03 * previous)
