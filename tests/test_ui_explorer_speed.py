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
    from explorer import plots, token_view

    drawn = []
    for name in ("embedding_heatmap", "segment_vector_plot"):
        real = getattr(plots, name)
        monkeypatch.setattr(plots, name, lambda *a, _real=real, _name=name, **k: drawn.append(_name) or _real(*a, **k))
    monkeypatch.setattr(token_view, "token_table", lambda *a, **k: drawn.append("token_table"))
    at = explorer_snapshot.run_fixed_pair(open_sections=False)
    assert drawn == []
    now = _as_json(explorer_snapshot.snapshot(at))
    assert now["tables"] == []
    # the three figures of the closed section are missing, the six shown ones are unchanged
    assert now["figures"] == [f for i, f in enumerate(reference["figures"]) if i not in (1, 2, 3)]
    assert now["metrics"] == reference["metrics"]
