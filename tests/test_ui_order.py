"""Section 5 of the Explorer, "NSP or sentence order?", driven headlessly with AppTest."""

import pytest

from explorer.models import BUNDLED_SOP, BUNDLED_SOURCES, BUNDLED_TRAINED, load_model
from explorer.objectives import ORDER_NOTE, order_answer, read_shipped_table
from explorer.ui import order_view

A, B = "The storm knocked out power across the city.", "Crews worked through the night to restore it."


@pytest.fixture
def app(app_page):
    return app_page


def _open(app):
    app.session_state[order_view.ORDER_SECTION] = True
    app.session_state["sentence_a"], app.session_state["sentence_b"] = A, B
    app.run()
    assert not app.exception, app.exception
    return app


def _order_table(app):
    return next(d.value for d in app.dataframe if "p(label 0): A → B" in d.value.columns)


def test_closed_section_scores_nothing(app, monkeypatch):
    called = []
    monkeypatch.setattr(order_view, "order_answer", lambda *a, **k: called.append(a))
    app.run()
    assert any(s.value == "5 · NSP or sentence order? Swap A and B" for s in app.subheader)
    assert called == []


def test_open_section_shows_each_model_both_ways(app):
    _open(app)
    table = _order_table(app)
    expected = [BUNDLED_TRAINED] + ([BUNDLED_SOP] if BUNDLED_SOP in BUNDLED_SOURCES else [])
    assert list(table["model"]) == [BUNDLED_SOURCES[s] for s in expected]
    for row, source in zip(table.itertuples(index=False), expected, strict=True):
        answer = order_answer(load_model(source, "cpu"), A, B)
        assert row[2] == pytest.approx(answer.forward, abs=1e-6) and row[3] == pytest.approx(answer.swapped, abs=1e-6)
        assert row[4] == answer.flip_words
    assert any(m.value == ORDER_NOTE for m in app.markdown)


def test_open_section_shows_the_cross_table_or_says_how_to_make_it(app):
    _open(app)
    if read_shipped_table() is None:
        assert any("python -m explorer objectives" in i.value for i in app.info)
    else:
        table = next(d.value for d in app.dataframe if "objective" in d.value.columns)
        assert "ALBERT-base (published, Table 5)" in set(table["model"])
        assert "None" not in set(table.stack()) and "nan" not in set(table.stack())


def test_a_third_model_joins_the_comparison_when_chosen(app, tiny_bert_dir):
    app.selectbox(key="model_choice").select("Other: Hugging Face id or local folder…").run()
    app.text_input(key="model_custom").input(str(tiny_bert_dir)).run()
    _open(app)
    assert str(tiny_bert_dir) in set(_order_table(app)["model"])


def test_a_model_trained_here_can_be_added_to_the_cross_table(app, tiny_bert_dir, tmp_path):
    import json
    import shutil

    trained = tmp_path / "my-sop-run"
    shutil.copytree(tiny_bert_dir, trained)
    (trained / "training_info.json").write_text(json.dumps({"config": {"mode": "sop"}}))
    app.selectbox(key="model_choice").select("Other: Hugging Face id or local folder…").run()
    app.text_input(key="model_custom").input(str(trained)).run()
    _open(app)
    app.button(key="order_add_row").click().run()
    assert not app.exception, app.exception
    table = next(d.value for d in app.dataframe if "objective" in d.value.columns)
    # Its log says it trained on the sotu split of seed 0, which holds some of the table's held-out documents:
    # it is scored on pairs drawn again without them, and marked so.
    from explorer.objectives import OWN_DRAW_MARK, OWN_DRAW_NOTE

    row = table[table["model"] == str(trained) + OWN_DRAW_MARK]
    assert list(row["objective"]) == ["SOP (trained here)"]
    assert any(OWN_DRAW_NOTE in c.value for c in app.caption)
    assert all(0 <= float(row[t.title].iloc[0].removesuffix(" %")) <= 100 for t in order_view.TASKS)
    albert = table[table["model"] == "ALBERT-base (published, Table 5)"]
    assert set(albert[[t.title for t in order_view.TASKS if t.corpus != "heldout"]].stack()) == {"—"}
