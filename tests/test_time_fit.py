"""A run fitted to its time limit: the plan is a function of the measured speed (fake clock), and it holds."""

import pytest
from test_training import tiny_config, topic_corpus

from explorer.training import EvalEvent, PlanEvent, StepEvent, TrainConfigError, Trainer
from explorer.training.config import PRESETS
from explorer.training.events import planned_steps
from explorer.training.time_fit import MIN_STEPS, SAFETY, evals_in_run, plan_for_time


def test_the_plan_fills_the_time_left_with_steps_and_evaluations():
    plan = plan_for_time(60.0, 300, steps_done=6, elapsed=3.0, seconds_per_step=0.5, seconds_per_eval=2.0)
    assert evals_in_run(57.0, 2.0) == 2
    budget = (60.0 - 3.0) * SAFETY - 2 * 2.0
    assert plan.steps == 6 + int(budget // 0.5) == 108
    assert plan.eval_every == 36  # evaluations at 36, 72 and after the last step
    # Four times slower: a quarter of the steps, and one evaluation on the way (two would eat over a fifth).
    slow = plan_for_time(60.0, 300, steps_done=6, elapsed=12.0, seconds_per_step=2.0, seconds_per_eval=8.0)
    assert evals_in_run(48.0, 8.0) == 1
    assert slow.steps == 6 + int(((60.0 - 12.0) * SAFETY - 8.0) // 2.0) == 25
    assert slow.eval_every == 13
    # A fast machine stops at the configured steps; a hopeless one still makes a few.
    assert plan_for_time(60.0, 300, 6, 0.3, 0.05, 0.5).steps == 300
    assert plan_for_time(60.0, 300, 6, 59.0, 30.0, 30.0).steps == MIN_STEPS


class FakeClock:
    """Seconds that pass only when the test says: each step costs `step_s`, each evaluation `eval_s`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fitted_run(step_s: float, eval_s: float, max_seconds: float = 20.0):
    trainer = Trainer(
        tiny_config(steps=500, eval_every=50, fit_to_time=True, max_seconds=max_seconds), corpus=topic_corpus()
    )
    clock = FakeClock()
    trainer.clock = clock
    train_step, evaluate = trainer._train_step, trainer.evaluate

    def timed_step(*args):
        train_step(*args)
        clock.now += step_s

    def timed_eval():
        clock.now += eval_s
        return evaluate()

    trainer._train_step, trainer.evaluate = timed_step, timed_eval
    return trainer, list(trainer.run())


def test_a_run_fitted_to_its_time_limit_is_planned_from_the_measured_speed_and_ends_on_time():
    trainer, events = fitted_run(step_s=0.4, eval_s=1.5)
    plans = [e for e in events if isinstance(e, PlanEvent)]
    assert len(plans) == 1
    # Step 1 is not timed; steps 2-6 are: 0.4 s each. Six steps (2.4 s) are spent when the plan is made.
    expected = plan_for_time(20.0, 500, 6, 2.4, 0.4, 1.5)
    assert (plans[0].steps, plans[0].eval_every) == (expected.steps, expected.eval_every) == (41, 14)
    assert plans[0].steps_per_s == pytest.approx(2.5) and plans[0].seconds_per_eval == pytest.approx(1.5)
    assert trainer.step == 41 == planned_steps(events)
    assert [e.step for e in events if isinstance(e, EvalEvent)] == [0, 14, 28, 41]
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert steps[-1].elapsed <= 20.0  # the plan ended before the clock would have stopped it
    # The learning rate decays to (almost) zero at the planned end, not at the configured 500 steps.
    assert steps[-1].lr < 0.05 * max(s.lr for s in steps)


def test_the_same_measured_speed_gives_the_same_plan_and_a_slower_one_fewer_steps():
    _, first = fitted_run(step_s=0.4, eval_s=1.5)
    _, again = fitted_run(step_s=0.4, eval_s=1.5)
    _, slower = fitted_run(step_s=1.6, eval_s=6.0)
    plan = [e for e in first if isinstance(e, PlanEvent)]
    assert plan == [e for e in again if isinstance(e, PlanEvent)]
    slow_plan = next(e for e in slower if isinstance(e, PlanEvent))
    assert slow_plan.steps < plan[0].steps and slow_plan.eval_every < plan[0].eval_every


def test_fitting_needs_a_time_limit_and_the_quick_demo_fits():
    with pytest.raises(TrainConfigError, match="time limit"):
        tiny_config(fit_to_time=True, max_seconds=None).validate()
    demo = PRESETS["quick demo"]
    assert demo.fit_to_time and demo.max_seconds == 60.0
