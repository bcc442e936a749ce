"""The Explorer tab: type a pair, see what BERT sees, and follow the NSP head to the loss.

The tab is one st.fragment: editing a sentence or the label reruns this tab only, not the sidebar
and the three other tabs (Streamlit runs hidden tabs on every full rerun). What a closed section
holds is computed only once it is opened (ON_DEMAND_SECTIONS), and the pair's numbers come from a
bounded cache, so a rerun costs little more than the model's forward pass.
"""

from __future__ import annotations

import streamlit as st

from explorer import plots
from explorer.encoding import MAX_SENTENCE_CHARS, PairInputError
from explorer.labels import CHANCE_LOSS, LABEL_NAMES, label_from_name
from explorer.models import LoadedModel
from explorer.nsp import NspResult
from explorer.objectives import objective_of
from explorer.reliability import confidence_note
from explorer.token_view import cut_tokens_html, token_strip_html, token_table
from explorer.ui import explain_view, order_view
from explorer.ui.kept import hide, show
from explorer.ui.resources import cached_embedding_sum, cached_score, cached_segment_vectors
from explorer.ui.safe import escape_markdown

DEFAULT_A = "The man went to the store."
DEFAULT_B = "He bought a gallon of milk."
MAX_CHARS = MAX_SENTENCE_CHARS
# Sections whose content is computed only while they are open: their expander keys (open = True).
TOKEN_TABLE = "explorer_open_token_table"
EMBEDDING_DETAILS = "explorer_open_embedding_details"
ON_DEMAND_SECTIONS = (TOKEN_TABLE, EMBEDDING_DETAILS)


def _on_demand(label: str, key: str):
    """An expander whose body the caller fills only when `.open`: Streamlit runs an ordinary
    expander's body even while it is closed, and this one reruns the page when it is opened."""
    show(key)
    return st.expander(label, key=key, on_change="rerun")


def _inputs() -> tuple[str, str, int]:
    st.session_state.setdefault("sentence_a", DEFAULT_A)
    st.session_state.setdefault("sentence_b", DEFAULT_B)
    st.session_state.setdefault("true_label", LABEL_NAMES[0])
    left, right = st.columns(2)
    a = left.text_area("Sentence A", key="sentence_a", height=90, max_chars=MAX_CHARS)
    b = right.text_area("Sentence B", key="sentence_b", height=90, max_chars=MAX_CHARS)
    label_name = st.radio(
        "True label (for the loss)",
        LABEL_NAMES,
        key="true_label",
        horizontal=True,
        help="0 = IsNext: B really follows A. 1 = NotNext: B is a random sentence from another document.",
    )
    return a, b, label_from_name(label_name)


def _input_section(result: NspResult, loaded: LoadedModel) -> None:
    enc = result.encoding
    st.subheader("1 · The input as BERT sees it")
    st.markdown(
        ":blue-background[**sentence A** · segment 0]  :orange-background[**sentence B** · segment 1]  "
        ":gray-background[**special tokens**]  · dashed border = WordPiece continuation (`##`)"
    )
    st.html(token_strip_html(enc))
    st.caption(
        f"{len(enc.tokens)} tokens of at most {enc.max_length} · attention mask all 1 (no padding for a single pair) · "
        "[CLS], A and the first [SEP] get segment id 0; B and the final [SEP] get segment id 1."
    )
    unknown = enc.tokens.count(loaded.tokenizer.unk_token)
    if unknown:
        st.info(
            f"{unknown} piece(s) became {loaded.tokenizer.unk_token}: the WordPiece vocabulary has no entry for them "
            "(emoji, many non-Latin scripts, and any word of more than 100 characters, which WordPiece does not "
            "split), so the model cannot see what they were."
        )
    if enc.truncated:
        st.warning(
            f"The pair was longer than {enc.max_length} tokens, so it was truncated, trimming the longer sentence "
            f"first: {len(enc.cut_a)} tokens cut from the end of A, {len(enc.cut_b)} from the end of B."
        )
        for role, cut in (("A", enc.cut_a), ("B", enc.cut_b)):
            if cut:
                with st.expander(f"Show the {len(cut)} tokens cut from {role}"):
                    st.html(cut_tokens_html(cut, role))
    with _on_demand("Token table: ids, segment ids, positions, attention mask", TOKEN_TABLE) as section:
        if section.open:
            st.dataframe(token_table(enc), hide_index=True, width="stretch")


def _embedding_section(result: NspResult, loaded: LoadedModel) -> None:
    enc = result.encoding
    st.subheader("2 · Token + position + segment = the input embedding")
    st.latex(
        r"x_i = E_{\text{token}}[\text{id}_i] + E_{\text{pos}}[i] + E_{\text{seg}}[s_i]"
        r"\qquad \text{input}_i = \mathrm{LayerNorm}(x_i)"
    )
    parts = cached_embedding_sum(loaded, enc)
    st.plotly_chart(plots.embedding_norms(enc.tokens, enc.roles, parts.norms()), width="stretch")
    seg = cached_segment_vectors(loaded)
    cols = st.columns(4)
    cols[0].metric("|E_A| (segment 0)", f"{seg.norm_a:.4f}")
    cols[1].metric("|E_B| (segment 1)", f"{seg.norm_b:.4f}")
    cols[2].metric("cosine(E_A, E_B)", f"{seg.cosine:.4f}")
    cols[3].metric("|E_B − E_A|", f"{seg.distance:.4f}")
    st.caption(
        "Every token of A gets E_A added and every token of B gets E_B: the difference E_B − E_A is the only thing "
        "that tells the model where A ends and B begins (besides the [SEP] token)."
    )
    with _on_demand("The two segment vectors, and the embedding sum as a heatmap", EMBEDDING_DETAILS) as section:
        if not section.open:
            return
        st.plotly_chart(plots.segment_vector_plot(seg.e_a, seg.e_b), width="stretch")
        st.plotly_chart(
            plots.embedding_heatmap(enc.tokens, parts.total, "token + position + segment (before LayerNorm)"),
            width="stretch",
        )
        st.plotly_chart(
            plots.embedding_heatmap(enc.tokens, parts.after_layernorm, "after LayerNorm: what layer 1 receives"),
            width="stretch",
        )


def _headline(result: NspResult, loaded: LoadedModel) -> None:
    """The answer first: what the model says about this pair, and the loss for the chosen label."""
    label_name = LABEL_NAMES[result.label]
    cols = st.columns(4)
    cols[0].metric("p(IsNext)", f"{result.p_is_next:.4f}")
    cols[1].metric("p(NotNext)", f"{result.p_not_next:.4f}")
    cols[2].metric(
        f"CE for {label_name}",
        f"{result.loss:.4f}",
        delta=f"{result.loss - CHANCE_LOSS:+.4f} vs ln 2",
        delta_color="inverse",
    )
    cols[3].metric(
        "forward pass",
        f"{result.seconds * 1000:.1f} ms",
        help=f"on {result.device}, timed when this pair was first scored (a pair seen before comes from a cache)",
    )
    st.caption(
        f"Model: {escape_markdown(loaded.display_name)} · ran on **{result.device}** · "
        f"prediction: **{LABEL_NAMES[result.predicted]}**"
    )
    if objective_of(loaded.source).startswith("SOP"):
        st.info(
            "This model was trained for sentence order (SOP): read p(IsNext) as p(B follows A in this order), "
            "and p(NotNext) as p(the two were swapped). Section 5 compares it with the NSP model."
        )
    note = confidence_note(loaded, result.probabilities)
    if note:
        st.warning(escape_markdown(note), icon="⚠️")


def _head_section(result: NspResult, loaded: LoadedModel) -> None:
    label_name = LABEL_NAMES[result.label]
    p_true = float(result.probabilities[result.label])
    st.subheader("3 · The NSP head: h_[CLS] → pooler → logits → softmax → cross-entropy")

    left, right = st.columns(2)
    with left:
        st.markdown("**h_[CLS]**: the final hidden state of the [CLS] token")
        st.plotly_chart(plots.vector_heatmap(result.h_cls, f"h_[CLS] ({result.h_cls.size} numbers)"), width="stretch")
    with right:
        st.markdown("**pooled = tanh(W_pool · h_[CLS] + b_pool)**, values in (−1, 1)")
        st.plotly_chart(
            plots.vector_heatmap(result.pooled, f"pooled ({result.pooled.size} numbers)", zmax=1.0), width="stretch"
        )
    z = result.logits
    st.latex(
        rf"z = W_{{NSP}}\,\text{{pooled}} + b_{{NSP}} = ({z[0]:+.4f},\ {z[1]:+.4f})"
        rf"\qquad p(\text{{IsNext}}) = \frac{{e^{{{z[0]:.4f}}}}}{{e^{{{z[0]:.4f}}} + e^{{{z[1]:.4f}}}}}"
        rf" = {result.p_is_next:.4f}"
    )
    left, right = st.columns(2)
    left.plotly_chart(plots.logit_bars(z), width="stretch")
    right.plotly_chart(plots.probability_bars(result.probabilities, result.label), width="stretch")
    st.latex(
        rf"\mathrm{{CE}} = -\log p(\text{{{label_name}}}) = -\log {p_true:.6f} = {result.loss:.6f}"
        rf"\qquad \text{{chance: }} \ln 2 = {CHANCE_LOSS:.6f}"
    )
    st.plotly_chart(plots.cross_entropy_curve(p_true, result.loss, label_name), width="stretch")
    with st.expander("Textbook formula vs real BERT"):
        tb = result.textbook_probabilities
        st.markdown(
            "Textbooks write the NSP head as $y = \\mathrm{softmax}(W_{NSP}\\, h_{[CLS]})$, on the raw [CLS] vector. "
            "Real BERT (Google's code and Hugging Face's `BertForNextSentencePrediction`) first applies the "
            "**pooler**, "
            "a dense layer with tanh, and classifies the pooled vector. All numbers above come from the real "
            "pooler path. For comparison, the same W_NSP applied straight to h_[CLS] (the textbook form, "
            f"which this model was never trained for) gives p(IsNext) = **{tb[0]:.4f}**, p(NotNext) = **{tb[1]:.4f}**."
        )


def render(loaded: LoadedModel, max_length: int) -> None:
    _explorer(loaded, max_length)


@st.fragment
def _explorer(loaded: LoadedModel, max_length: int) -> None:
    a, b, label = _inputs()
    if not loaded.head_trained:
        st.warning(
            "This model's NSP head is untrained (newly initialised): its probabilities stay near 50/50 whatever "
            "the sentences say. Train it in the Train tab, or load a model with a pretrained NSP head."
        )
    try:
        result = cached_score(loaded, a, b, label, max_length)
    except Exception as err:
        if isinstance(err, PairInputError):
            st.error(str(err))
        else:
            st.error(
                f"The model could not score this pair ({err.__class__.__name__}). Try the CPU or a shorter max length."
            )
        # The sections below are skipped this time: what the student opened or chose in them stays for the next.
        hide(*ON_DEMAND_SECTIONS, *explain_view.WIDGET_KEYS, order_view.ORDER_SECTION)
        return
    _headline(result, loaded)
    _input_section(result, loaded)
    _embedding_section(result, loaded)
    _head_section(result, loaded)
    explain_view.render(loaded, a, b, max_length)
    order_view.render(loaded, a, b, max_length)
