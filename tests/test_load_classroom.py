"""Smoke test of the classroom load generator (bench/load_classroom.py): two simulated students
against the real server, a few edits each; every edit must bring back its own, correct p(IsNext)."""

import asyncio
import concurrent.futures
import sys
from pathlib import Path

import pytest

from harness import app_server as harness
from harness.classroom_client import Student

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from load_classroom import everyday_pairs, next_edit  # the benchmark's own edit sequence

EDITS = 3


@pytest.fixture(scope="module")
def app():
    server = harness.start_app(timeout=120)
    yield server
    server.stop()


async def _student(url: str, seed: int) -> list[tuple[dict[str, str], str | None]]:
    import random

    rng, pairs = random.Random(seed), everyday_pairs()
    # A generous timeout: the first page open loads the model, and this machine may be busy.
    student = Student(url, timeout=600)
    await student.open()
    texts = {"Sentence A": "The man went to the store.", "Sentence B": "He bought a gallon of milk."}
    seen = []
    for step in range(1, EDITS + 1):
        edit = next_edit(rng, step, pairs)
        texts.update(edit)
        _, run = await student.edit(edit)
        seen.append((dict(texts), run.metric))
    await student.close()
    return seen


def test_two_students_each_get_the_value_of_their_own_edit(app):
    from explorer.models import DEFAULT_SOURCE, load_model
    from explorer.nsp import score_pair

    async def both():
        return await asyncio.gather(_student(app.url, 1), _student(app.url, 2))

    # Its own thread: a browser test's Playwright may already run an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, both()).result()
    model = load_model(DEFAULT_SOURCE, "cpu")
    for seen in results:
        assert len(seen) == EDITS
        for texts, shown in seen:
            expected = score_pair(model, texts["Sentence A"], texts["Sentence B"]).p_is_next
            assert shown is not None
            assert float(shown) == pytest.approx(expected, abs=2e-4), texts


def test_a_student_can_start_follow_and_stop_a_training_run(app):
    """What `load_classroom.py --train` does: press Start, answer the live panel's reruns, see steps, press Stop."""

    async def trainer() -> tuple[str, str]:
        student = Student(app.url, timeout=600)
        await student.open()
        await student.press("Start")
        running = await student.follow_run(limit=300, until=lambda line: line.startswith("step "))
        await student.press("Stop")
        ended = await student.follow_run(limit=300)
        await student.close()
        return running, ended

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running, ended = pool.submit(asyncio.run, trainer()).result()
    # The quick demo is fitted to its minute: its line counts the clock, first while it measures the speed.
    assert running.startswith("step ") and ("measuring this machine's speed" in running or "s left of 60 s" in running)
    assert ended.startswith("Run stopped at step ")
