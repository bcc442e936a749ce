"""The Evaluate tab, driven with AppTest."""

from conftest import ROOT
from streamlit.testing.v1 import AppTest


def _app():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    return at


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_everyday_pairs_evaluate_with_plots():
    at = _app()
    at.button(key="eval_run").click().run()
    assert not at.exception
    assert float(_metric(at, "accuracy")) >= 0.95
    assert 0 <= float(_metric(at, "expected calibration error")) <= 1
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("confusion matrix" in t for t in titles) and any("reliability diagram" in t for t in titles)
    # A click elsewhere in the page reruns every tab: the result stays until what it measured changes.
    accuracy = _metric(at, "accuracy")
    at.radio(key="batch_source").set_value("examples").run()
    assert _metric(at, "accuracy") == accuracy
    at.slider(key="max_length").set_value(64).run()
    assert not any(m.label == "accuracy" for m in at.metric)


def test_bad_upload_shows_an_error(monkeypatch):
    from explorer.ui import eval_view

    class Upload:
        name = "bad.csv"

        def getvalue(self):
            return b"x,y\n1,2\n"

    monkeypatch.setattr(eval_view.st, "file_uploader", lambda *a, **k: Upload())
    at = _app()
    assert any("missing the column" in e.value for e in at.error)
