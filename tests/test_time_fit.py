"""A run fitted to its time limit: its plan is a function of the measured speed (fake clock), and it holds."""

import pytest
from test_training import tiny_config, topic_corpus

from explorer.training import EvalEvent, PlanEvent, StepEvent, Trainer
from explorer.training.config import PRESETS
from explorer.training.events import planned_steps
from explorer.training.time_fit import MIN_STEPS, SAFETY, eval_due, evals_in_run, plan_for_time


def test_the_plan_fills_the_time_left_with_steps_and_evaluations():
    plan = plan_for_time(60.0, 300, steps_done=8, elapsed=4.0, seconds_per_step=0.5, seconds_per_eval=2.0, evals_left=2)
    assert plan.steps == 8 + int(((60.0 - 4.0) * SAFETY - 2 * 2.0) // 0.5) == 108
    # Four times slower: a quarter of the steps.
    slow = plan_for_time(60.0, 300, 8, 16.0, 2.0, 8.0, evals_left=1)
    assert slow.steps == 8 + int(((60.0 - 16.0) * SAFETY - 8.0) // 2.0) == 25
    # A fast machine stops at the configured steps; a hopeless one still makes a few.
    assert plan_for_time(60.0, 300, 8, 0.4, 0.05, 0.5, 2).steps == 300
    assert plan_for_time(60.0, 300, 8, 59.0, 30.0, 30.0, 0).steps == MIN_STEPS
    # Two evaluations on the way unless they would eat over a fifth of the time left.
    assert [evals_in_run(57.0, 2.0), evals_in_run(48.0, 8.0), evals_in_run(10.0, 8.0)] == [2, 1, 0]
    assert next(s for s in range(1, 91) if eval_due(s, 90, 0, 2)) == 30
    assert next(s for s in range(1, 91) if eval_due(s, 90, 1, 2)) == 60
    assert not any(eval_due(s, 90, 2, 2) for s in range(1, 91))


class FakeClock:
    """Seconds that pass only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fitted_run(monkeypatch, step_seconds, eval_seconds: float, max_seconds: float = 20.0):
    """A tiny run whose step n takes step_seconds(n) and each evaluation eval_seconds on a fake clock."""
    config = tiny_config(steps=500, eval_every=50, fit_to_time=True, max_seconds=max_seconds)
    trainer = Trainer(config, corpus=topic_corpus())
    clock = trainer.clock = FakeClock()
    train_step, evaluate = trainer._train_step, trainer.evaluate

    def timed_step(*args):
        train_step(*args)
        clock.now += step_seconds(trainer.step)

    def timed_eval():
        clock.now += eval_seconds
        return evaluate()

    monkeypatch.setattr(trainer, "_train_step", timed_step)
    monkeypatch.setattr(trainer, "evaluate", timed_eval)
    return trainer, list(trainer.run())


def plans(events):
    return [e for e in events if isinstance(e, PlanEvent)]


def test_a_fitted_run_is_planned_from_the_measured_speed_and_ends_on_time(monkeypatch):
    trainer, events = fitted_run(monkeypatch, lambda step: 0.4, eval_seconds=1.5)
    # Steps 1-3 are not timed; after 5 timed steps (8 in all, 3.2 s) the plan: 2 evaluations, 41 steps.
    first = plans(events)[0]
    expected = plan_for_time(20.0, 500, 8, 3.2, 0.4, 1.5, evals_left=2)
    assert (first.steps, first.evaluations) == (expected.steps, 2) == (41, 2)
    assert first.steps_per_s == pytest.approx(2.5) and first.seconds_per_eval == pytest.approx(1.5)
    # Replanned after every step, the end moves by one step as the 3% reserve shrinks.
    assert trainer.step == planned_steps(events) == 42
    assert [e.step for e in events if isinstance(e, EvalEvent)] == [0, 14, 28, 42]
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert steps[-1].elapsed <= 20.0  # the plan ended before the clock would have stopped the run
    # The learning rate decays to (almost) zero at the planned end, not at the configured 500 steps.
    assert steps[-1].lr < 0.05 * max(s.lr for s in steps)


def test_the_same_speed_gives_the_same_run_and_a_slower_one_fewer_steps(monkeypatch):
    _, first = fitted_run(monkeypatch, lambda step: 0.4, eval_seconds=1.5)
    _, again = fitted_run(monkeypatch, lambda step: 0.4, eval_seconds=1.5)
    assert [e.to_dict() for e in first] == [e.to_dict() for e in again]
    slower, events = fitted_run(monkeypatch, lambda step: 1.6, eval_seconds=6.0)
    assert plans(events)[0].steps == 12 and plans(events)[0].evaluations == 0
    assert slower.step == 12 and [e.step for e in events if isinstance(e, EvalEvent)] == [0, 12]


def test_a_run_that_slows_down_halfway_is_replanned_and_still_ends_within_the_limit(monkeypatch):
    trainer, events = fitted_run(monkeypatch, lambda step: 0.4 if step <= 20 else 0.8, eval_seconds=1.5)
    assert plans(events)[0].steps == 41
    assert len(plans(events)) > 1 and plans(events)[-1].steps < 41
    assert trainer.step == planned_steps(events) < 41
    assert [e for e in events if isinstance(e, StepEvent)][-1].elapsed <= 20.0


def test_without_a_time_limit_fitting_changes_nothing_and_the_quick_demo_is_set_to_fit_its_minute(monkeypatch):
    config = tiny_config(steps=12, eval_every=6, fit_to_time=True, max_seconds=None).validate()
    trainer = Trainer(config, corpus=topic_corpus())
    events = list(trainer.run())
    assert not plans(events) and trainer.step == 12 and planned_steps(events) == 12
    assert [e.step for e in events if isinstance(e, EvalEvent)] == [0, 6, 12]
    demo = PRESETS["quick demo"]
    assert demo.fit_to_time and demo.max_seconds == 60.0
    assert not PRESETS["longer run"].fit_to_time
