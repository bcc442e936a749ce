"""Section 4 of the Explorer tab, "Why this answer?": attention, attributions and how faithful they are.

Nothing is computed until the student asks (a toggle): Streamlit runs an expander's body on every rerun,
so the toggle is what keeps typing in the text boxes as fast as without this section. Results are cached
by (model, pair, settings).
"""

from __future__ import annotations

import streamlit as st

from explorer import explain_plots
from explorer.attribution import DEFAULT_IG_STEPS
from explorer.encoding import PairInputError
from explorer.explain import (
    MAX_IG_STEPS,
    METHOD_NAMES,
    METHODS,
    MIN_IG_STEPS,
    Explanation,
    TooLongToExplain,
    explain,
)
from explorer.models import LoadedModel
from explorer.pair_words import pair_words, word_scores
from explorer.ui.kept import hide, show
from explorer.ui.resources import model_key
from explorer.word_heat import words_html

IG_STEP_CHOICES = [s for s in (8, 16, 32, 64, 128, 256) if MIN_IG_STEPS <= s <= MAX_IG_STEPS]
COMPLETENESS_OK = 0.01  # relative completeness error the page calls converged


@st.cache_data(max_entries=32, show_spinner=False)
def _cached_explain(
    _loaded: LoadedModel, model_key: tuple, a: str, b: str, method: str, max_length: int, steps: int
) -> Explanation:
    # model_key (source, device, load number) stands in for the unhashable model in the cache key.
    return explain(_loaded, a, b, method, max_length, steps)


# The section's widgets: each one a run does not draw (section off, another method) is hidden (ui/kept.py).
TOGGLE, METHOD, STEPS, LAYER, HEAD = "explain_on", "explain_method", "explain_steps", "explain_layer", "explain_head"
WIDGET_KEYS = (TOGGLE, METHOD, STEPS, LAYER, HEAD)


def render(loaded: LoadedModel, a: str, b: str, max_length: int) -> None:
    st.subheader("4 · Why this answer?")
    st.caption(
        "Which words made the model say this? Three ways to look inside, and a test of which one the model "
        "actually follows. Computed only when you switch it on (it takes a moment)."
    )
    show(TOGGLE)
    if not st.toggle("Explain this pair", key=TOGGLE):
        hide(METHOD, STEPS, LAYER, HEAD)
        return
    show(METHOD)
    method = st.radio(
        "Method",
        METHODS,
        format_func=METHOD_NAMES.get,
        key=METHOD,
        horizontal=True,
        label_visibility="collapsed",
    )
    steps = DEFAULT_IG_STEPS
    if method in ("ig", "deletion"):
        show(STEPS)
        st.session_state.setdefault(STEPS, DEFAULT_IG_STEPS)
        steps = st.select_slider("Integration steps", IG_STEP_CHOICES, key=STEPS)
    else:
        hide(STEPS)
    if method != "attention":
        hide(LAYER, HEAD)
    if not loaded.head_trained:
        st.warning("This model's NSP head is untrained, so these explanations explain a near-random answer.")
    try:
        with st.spinner("Explaining…"):
            done = _cached_explain(loaded, model_key(loaded), a, b, method, max_length, int(steps))
    except (PairInputError, TooLongToExplain) as err:
        if method == "attention":
            hide(LAYER, HEAD)  # its sliders are not drawn this time
        if isinstance(err, TooLongToExplain):
            st.info(str(err))
        return  # a PairInputError is already shown at the top of the tab
    {"attention": _attention, "ig": _integrated_gradients, "occlusion": _occlusion, "deletion": _deletion}[method](done)


def _attention(done: Explanation) -> None:
    result = done.attention
    assert result is not None  # explain() fills the part for the method asked
    enc = result.encoding
    st.markdown(
        "Attention weights are **not an explanation by themselves** (Jain & Wallace 2019; Wiegreffe & Pinter "
        "2019): a head can look at a word that changes nothing. The attributions and the deletion test in "
        "this section check that."
    )
    st.plotly_chart(explain_plots.cls_share_grid(result.cls_shares), width="stretch")
    st.plotly_chart(explain_plots.cls_share_bars(result.cls_shares), width="stretch")
    layers, heads = result.attentions.shape[:2]
    left, right = st.columns(2)
    show(LAYER, HEAD)
    ss = st.session_state
    ss.setdefault(LAYER, layers - 1)  # the last layer, head 0
    ss.setdefault(HEAD, 0)
    if ss[LAYER] > layers - 1 or ss[HEAD] > heads - 1:  # chosen on a model with more layers or heads
        ss[LAYER], ss[HEAD] = min(ss[LAYER], layers - 1), min(ss[HEAD], heads - 1)
    layer = left.slider("Layer", 0, layers - 1, key=LAYER)
    head = right.slider("Head", 0, heads - 1, key=HEAD)
    st.plotly_chart(explain_plots.head_matrix(result.attentions[layer, head], enc.tokens, layer, head), width="stretch")
    st.plotly_chart(
        explain_plots.token_bars(
            enc.tokens, enc.roles, result.rollout, "attention rollout from [CLS] (Abnar & Zuidema 2020)", "share"
        ),
        width="stretch",
    )
    st.caption(
        "Rollout: average the heads of each layer, add the identity for the residual path, renormalise the rows "
        "and multiply the layers; the [CLS] row says how much of each input token reaches [CLS]. "
        f"This pass uses eager attention (to read the weights); its logits ({result.logits[0]:+.4f}, "
        f"{result.logits[1]:+.4f}) are those of the normal pass."
    )


def _integrated_gradients(done: Explanation) -> None:
    ig = done.ig
    assert ig is not None
    words = pair_words(done.encoding)
    st.markdown(
        "**Integrated gradients** of log p(IsNext) on the word embeddings. Baseline: every token of A and B "
        "replaced by **[PAD]**, while [CLS], [SEP], positions and segment ids stay, so the attributions share "
        "out exactly the change from that empty pair to yours."
    )
    st.html(words_html(words, word_scores(words, ig.token_scores), "Δ log p(IsNext)"))
    relative = ig.relative_completeness_error
    cols = st.columns(4)
    cols[0].metric("sum of attributions", f"{ig.total:+.5f}")
    cols[1].metric(
        "f(pair) − f(baseline)", f"{ig.gap:+.5f}", help=f"log p(IsNext): {ig.f_pair:.5f} − {ig.f_baseline:.5f}"
    )
    cols[2].metric("completeness error", f"{ig.completeness_error:.5f}")
    cols[3].metric("error / |f(pair) − f(baseline)|", f"{relative:.2%}")
    if relative > COMPLETENESS_OK:
        st.info(
            f"With {ig.steps} steps the attributions miss {relative:.1%} of the change: the path integral is not "
            "converged yet. More steps make it more exact (and slower)."
        )
    st.plotly_chart(
        explain_plots.token_bars(
            done.encoding.tokens, done.encoding.roles, ig.token_scores, "IG per WordPiece token", "Δ log p(IsNext)"
        ),
        width="stretch",
    )


def _occlusion(done: Explanation) -> None:
    occ = done.occlusion
    assert occ is not None
    st.markdown(
        f"**Occlusion**: each word (all its WordPiece pieces) deleted in turn and the pair scored again, all "
        f"{len(occ.words)} variants in one batch. Colour = p(IsNext) with the word − p(IsNext) without it "
        f"(the pair as typed: {occ.p_pair:.4f})."
    )
    st.html(words_html(occ.words, occ.word_scores, "Δ p(IsNext)"))


def _deletion(done: Explanation) -> None:
    curves = done.deletion
    assert curves is not None
    answer = curves.answer_name
    st.markdown(
        f"**How faithful is each explanation?** Delete the words each method ranks as the strongest evidence for "
        f"**{answer}**, one more at a time, and score again. If the ranking names what the model really uses, "
        f"p({answer}) falls fast: a smaller area under the curve means a more faithful explanation for this "
        "pair. The random line is the mean of several random orders."
    )
    areas = curves.areas
    st.plotly_chart(explain_plots.deletion_plot(curves.fractions, curves.curves, areas, answer), width="stretch")
    st.caption(
        "Area under each curve: "
        + " · ".join(f"{name} {area:.3f}" for name, area in areas.items())
        + f". Most faithful here: {curves.most_faithful}."
    )
