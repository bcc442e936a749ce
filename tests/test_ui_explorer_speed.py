"""The Explorer's speed work changes nothing a student sees, and skips only what is not shown."""

import json

import explorer_snapshot  # a helper beside the tests (pytest puts tests/ on the path), not a test
import pytest


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(explorer_snapshot.REFERENCE.read_text())


def _as_json(data: dict) -> dict:
    return json.loads(json.dumps(data))  # tuples -> lists, as in the stored reference


def test_page_content_is_what_it_was_before_the_speed_work(reference, monkeypatch):
    """Metrics, formulas, text, the token table and the data of all nine figures, for a fixed pair,
    against the snapshot taken from the code before the speed work (tests/data/)."""
    from explorer.ui import explain_view, order_view

    # Sections 4 and 5 were added after the reference was taken; their own page tests are in test_ui_explain.py
    # and test_ui_order.py.
    monkeypatch.setattr(explain_view, "render", lambda *args, **kwargs: None)
    monkeypatch.setattr(order_view, "render", lambda *args, **kwargs: None)
    at = explorer_snapshot.run_fixed_pair(open_sections=True)
    now = _as_json(explorer_snapshot.snapshot(at))
    for part, expected in reference.items():
        assert now[part] == expected, part


def test_closed_sections_are_not_computed(reference, monkeypatch):
    from explorer import plots
    from explorer.ui import explorer_view

    drawn = []
    for module, name in ((plots, "embedding_heatmap"), (plots, "segment_vector_plot"), (explorer_view, "token_table")):
        real = getattr(module, name)
        spy = lambda *a, _real=real, _name=name, **k: drawn.append(_name) or _real(*a, **k)  # noqa: E731
        monkeypatch.setattr(module, name, spy)
    explorer_snapshot.run_fixed_pair(open_sections=True)
    assert set(drawn) == {"embedding_heatmap", "segment_vector_plot", "token_table"}  # the spies see the calls
    drawn.clear()
    at = explorer_snapshot.run_fixed_pair(open_sections=False)
    assert drawn == []
    now = _as_json(explorer_snapshot.snapshot(at))
    assert now["tables"] == []
    # the three figures of the closed section are missing, the six shown ones are unchanged
    assert now["figures"] == [f for i, f in enumerate(reference["figures"]) if i not in (1, 2, 3)]
    assert now["metrics"] == reference["metrics"]


def test_a_page_run_freezes_the_heap_once(app_page, monkeypatch):
    """After a full page run the long-lived heap is out of the collector's reach (gc.freeze), and
    settling again does nothing: no second collection, no second freeze."""
    import gc

    from explorer.ui import server_memory

    assert server_memory._heap_settled.is_set()
    assert gc.get_freeze_count() > 100_000  # the libraries and the model: hundreds of thousands of objects
    calls = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    server_memory.settle_heap()
    assert calls == []


def test_malloc_is_tuned_once_per_process():
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc only")
    code = (
        "import threading; from explorer.ui.server_memory import tune_malloc as f; a = f(); b = f(); "
        "print(a, b, sum(t.name == 'nsp-malloc-trim' for t in threading.enumerate()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "1"]  # done once: one trimming thread
