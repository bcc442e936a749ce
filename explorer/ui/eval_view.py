"""The Evaluate tab: score a file of labelled pairs, or the built-in everyday pairs, and show the metrics."""

from __future__ import annotations

import streamlit as st

from explorer import plots
from explorer.encoding import PairInputError
from explorer.evaluate import EvalFileError, evaluate_pairs, parse_pairs, read_pairs
from explorer.examples import EVERYDAY_PAIRS
from explorer.models import LoadedModel
from explorer.ui.resources import model_key
from explorer.ui.safe import escape_markdown


def _pairs_from_choice():
    upload = st.file_uploader(
        "Pairs file (CSV with columns a, b, label, or JSON lines)",
        type=["csv", "jsonl", "json", "txt"],
        key="eval_upload",
    )
    if upload is None:
        pairs = read_pairs(EVERYDAY_PAIRS)
        st.caption(
            f"No file chosen: using the {len(pairs)} everyday pairs shipped with the app ({EVERYDAY_PAIRS.name})."
        )
        return pairs, "everyday pairs"
    return parse_pairs(upload.getvalue(), upload.name), upload.name


def render(loaded: LoadedModel, max_length: int) -> None:
    st.markdown("Label convention: **0 = IsNext** (B follows A), **1 = NotNext** (B is random).")
    try:
        pairs, name = _pairs_from_choice()
    except EvalFileError as err:
        st.error(escape_markdown(str(err)))
        return
    st.caption(f"Model: {escape_markdown(loaded.display_name)} · file: {escape_markdown(name)}")
    # The result stays on screen through other clicks in the page, until the model, the pairs or the max length
    # change (every tab reruns on any click).
    scored = (model_key(loaded), name, hash(tuple(pairs)), max_length)
    if st.button(f"Evaluate on {len(pairs)} pairs", key="eval_run", type="primary"):
        try:
            with st.spinner("Scoring…"):
                st.session_state["eval_report"] = scored, evaluate_pairs(loaded, pairs, max_length=max_length)
        except PairInputError as err:
            st.error(str(err))
            return
        except Exception as err:
            st.error(f"The model could not score these pairs ({err.__class__.__name__}).")
            return
    kept = st.session_state.get("eval_report")
    if kept is None or kept[0] != scored:
        return
    report = kept[1]
    data = report.to_dict()
    cols = st.columns(4)
    cols[0].metric("accuracy", f"{report.accuracy:.4f}")
    cols[1].metric("mean cross-entropy", f"{report.mean_loss:.4f}")
    cols[2].metric("mean p(true label)", f"{data['mean_p_true']:.4f}")
    cols[3].metric("expected calibration error", f"{report.ece:.4f}")
    left, right = st.columns(2)
    left.plotly_chart(plots.confusion_matrix(report.confusion, "confusion matrix"), width="stretch")
    right.plotly_chart(plots.reliability_diagram(report.bins, report.ece), width="stretch")
