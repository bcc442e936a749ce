"""Section 4 of the Explorer tab, "Why this answer?", driven headlessly with AppTest."""

import pytest

from explorer.ui.explain_view import _cached_explain


@pytest.fixture
def app(app_page):
    _cached_explain.clear()
    return app_page


def _open(app, method):
    app.toggle(key="explain_on").set_value(True).run()
    app.radio(key="explain_method").set_value(method).run()
    assert not app.exception, app.exception
    return app


def test_nothing_is_computed_until_the_toggle_is_on(app, monkeypatch):
    from explorer.ui import explain_view

    called = []
    real = explain_view.explain
    monkeypatch.setattr(explain_view, "explain", lambda *a, **k: called.append(a[1:3]) or real(*a, **k))
    app.run()
    assert any(s.value == "4 · Why this answer?" for s in app.subheader)
    assert not app.get("radio") or all(r.key != "explain_method" for r in app.radio)
    assert called == []
    _open(app, "attention")
    assert len(called) == 1  # the spy sees the one explanation the toggle asks for


def test_attention_view_opens(app):
    _open(app, "attention")
    assert any("not an explanation by themselves" in m.value for m in app.markdown)
    assert len(app.get("plotly_chart")) >= 9  # sections 2-3 plus grid, bars, head matrix, rollout
    app.slider(key="explain_layer").set_value(0).run()
    assert not app.exception


def test_integrated_gradients_shows_completeness_and_escapes_an_xss_probe(app):
    probe = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    app.text_area(key="sentence_a").input(probe).run()
    app.toggle(key="explain_on").set_value(True).run()
    app.radio(key="explain_method").set_value("ig").run()
    app.select_slider(key="explain_steps").set_value(8).run()
    assert not app.exception
    labels = [m.label for m in app.metric]
    assert "completeness error" in labels and "sum of attributions" in labels
    bodies = [h.proto.body for h in app.get("html")]
    heat = [b for b in bodies if "nsp-heat" in b]
    assert heat and all("<img" not in b and "<script" not in b for b in heat)
    assert any("&lt;" in b for b in heat)


def test_occlusion_and_deletion_views(app):
    _open(app, "occlusion")
    assert any("nsp-heat" in h.proto.body for h in app.get("html"))
    app.radio(key="explain_method").set_value("deletion").run()
    assert not app.exception
    assert any(c.value.startswith("Area under each curve") for c in app.caption)


def test_untrained_head_warns_and_still_explains(app):
    app.selectbox(key="model_choice").select("MiniLM-L6 · untrained NSP head").run()
    _open(app, "occlusion")
    assert any("explain a near-random answer" in w.value for w in app.warning)
    assert any("nsp-heat" in h.proto.body for h in app.get("html"))


def test_a_512_token_pair_says_it_is_too_long(app):
    app.slider(key="max_length").set_value(512).run()
    app.text_area(key="sentence_a").input("history " * 600).run()
    app.text_area(key="sentence_b").input("geography " * 600).run()
    _open(app, "occlusion")
    assert any("too long for occlusion" in i.value for i in app.info)
    app.radio(key="explain_method").set_value("attention").run()
    assert not app.exception and len(app.get("plotly_chart")) >= 9


def test_an_input_error_or_another_method_keeps_what_the_student_chose(app):
    # An empty sentence skips every section below the error, and a method hides the others' controls: Streamlit
    # would drop those widgets' values. Clearing A and typing it again must not close what was open.
    from explorer.ui import explorer_view, order_view

    for key in (*explorer_view.ON_DEMAND_SECTIONS, order_view.ORDER_SECTION):
        app.session_state[key] = True
    _open(app, "ig")
    app.select_slider(key="explain_steps").set_value(64).run()
    app.radio(key="explain_method").set_value("occlusion").run()
    app.radio(key="explain_method").set_value("ig").run()
    assert app.select_slider(key="explain_steps").value == 64
    a = app.text_area(key="sentence_a").value
    app.text_area(key="sentence_a").input("   ").run()
    assert any("empty" in e.value for e in app.error), [e.value for e in app.error]
    app.text_area(key="sentence_a").input(a).run()
    assert not app.exception and not app.error
    assert app.toggle(key="explain_on").value and app.radio(key="explain_method").value == "ig"
    # A browser draws a widget that comes back at its default unless the server sends the value with it.
    toggle, method = app.toggle(key="explain_on").proto, app.radio(key="explain_method").proto
    assert toggle.set_value and toggle.value and method.set_value
    assert app.select_slider(key="explain_steps").value == 64
    for key in (*explorer_view.ON_DEMAND_SECTIONS, order_view.ORDER_SECTION):
        assert app.session_state[key] is True, key
    assert not any("Session State API" in w.value for w in app.warning)
