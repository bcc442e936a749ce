"""The Batch tab: k pairs -> one loss -> its gradient -> SGD steps on this session's copy of the NSP head."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer import batch_plots
from explorer.batch import (
    DEFAULT_K,
    MAX_K,
    MIN_K,
    BatchInputError,
    example_pairs,
    file_pairs,
    sampled_pairs,
    unseen_draw,
)
from explorer.batch_head import REDUCTIONS, VARIANTS
from explorer.batch_lesson import BatchLesson, BatchReport, start_lesson
from explorer.batch_mlm import NO_MLM_HEAD, has_mlm_head, load_pretraining_model, mlm_head_trained, pretraining_terms
from explorer.evaluate import LabelledPair
from explorer.labels import LABEL_NAMES
from explorer.models import LoadedModel
from explorer.ui.kept import hide, remembered_upload, show, upload_hidden
from explorer.ui.safe import escape_markdown

SOURCE_CHOICES = {"sampler": "sampled (BERT's recipe)", "examples": "classroom examples", "file": "pasted or uploaded"}
LEARNING_RATES = [0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0]
SHOWN_CHARS = 80
VALUE_COLUMNS = 8  # tensors with more columns than this are drawn as heatmaps


def _controls() -> dict:
    ss = st.session_state
    ss.setdefault("batch_k", DEFAULT_K)
    left, middle, right = st.columns(3)
    source = left.radio("Pairs", list(SOURCE_CHOICES), format_func=SOURCE_CHOICES.get, key="batch_source")
    k = middle.slider("k pairs in the batch", MIN_K, MAX_K, key="batch_k", disabled=source == "file")
    seed = middle.number_input("seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="batch_seed")
    share = right.slider("NotNext share", 0.0, 1.0, 0.5, 0.05, key="batch_share", disabled=source != "sampler")
    variant = right.radio("Module", list(VARIANTS), format_func=VARIANTS.get, key="batch_variant")
    file = text = None
    if source == "file":
        upload = st.file_uploader(
            "Pairs file (CSV a,b,label or JSON lines)", type=["csv", "jsonl", "json", "txt"], key="batch_upload"
        )
        file = remembered_upload("batch_upload", upload)
        if upload is None and file is not None:  # hidden by another choice, it came back empty
            st.caption(escape_markdown(f"Using {file[0]}, uploaded earlier: upload another file to replace it."))
        show("batch_paste")
        text = st.text_area("…or paste pairs (CSV with the header a,b,label, or JSON lines)", key="batch_paste")
    else:
        upload_hidden("batch_upload")
        hide("batch_paste")
    return dict(source=source, k=int(k), seed=int(seed), share=float(share), variant=variant, file=file, text=text)


def _draw_pairs(choice: dict, loaded: LoadedModel, max_length: int) -> list[LabelledPair]:
    if choice["source"] == "sampler":
        with st.spinner("Sampling pairs from the corpus (prepared once per server)…"):
            return sampled_pairs(loaded.tokenizer, choice["k"], choice["seed"], choice["share"], max_length)
    if choice["source"] == "examples":
        return example_pairs(choice["k"], choice["seed"])
    if choice["file"] is not None:
        name, data, _ = choice["file"]
        return file_pairs(data, name)
    if not (choice["text"] or "").strip():
        raise BatchInputError("Paste some pairs or upload a file first (columns a, b, label; 0 = IsNext).")
    return file_pairs(choice["text"].encode("utf-8"), "the pasted pairs")


def _lesson(loaded: LoadedModel, max_length: int, choice: dict) -> BatchLesson | None:
    """This session's lesson: drawn on the button, rebuilt (steps reset) when the model or the module changes."""
    ss = st.session_state
    if st.button("Draw the batch", key="batch_draw", type="primary"):
        try:
            ss["batch_pairs"] = _draw_pairs(choice, loaded, max_length)
        except BatchInputError as err:
            st.error(escape_markdown(str(err)))
            return None
        ss["batch_drawn_from"] = choice["source"]
        ss.pop("batch_lesson", None)
    pairs = ss.get("batch_pairs")
    if not pairs:
        st.info("Choose where the pairs come from and press **Draw the batch**.")
        return None
    drawn_from = ss.get("batch_drawn_from", choice["source"])
    if drawn_from != choice["source"]:
        st.caption(
            f"This is the batch drawn before, from the {SOURCE_CHOICES[drawn_from]} pairs: press **Draw the batch** "
            f"for {SOURCE_CHOICES[choice['source']]} pairs."
        )
    lesson = ss.get("batch_lesson")
    wanted = (loaded.source, choice["variant"], max_length)
    if lesson is None or ss.get("batch_lesson_key") != wanted or lesson.loaded is not loaded:
        unseen = unseen_draw(loaded.tokenizer, len(pairs), choice["seed"], choice["share"], max_length)
        try:
            lesson = start_lesson(loaded, pairs, choice["variant"], unseen, max_length)
        except BatchInputError as err:
            st.error(escape_markdown(str(err)))
            return None
        ss["batch_lesson"], ss["batch_lesson_key"] = lesson, wanted
    return lesson


def _short(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _batch_table(report: BatchReport) -> pd.DataFrame:
    # st.dataframe shows cells as plain text, so user text needs no escaping here.
    return pd.DataFrame(
        {
            "A": [_short(p.a) for p in report.pairs],
            "B": [_short(p.b) for p in report.pairs],
            "label": [LABEL_NAMES[t] for t in report.labels],
            "z IsNext": report.logits[:, 0],
            "z NotNext": report.logits[:, 1],
            "p(true label)": report.p_true,
            "CE": report.cross_entropy,
        },
        index=pd.RangeIndex(1, report.k + 1, name="pair"),
    )


def _loss_arithmetic(report: BatchReport) -> str:
    total, k = float(report.cross_entropy.sum()), report.k
    if report.reduction == "mean":
        return rf"L = \frac{{1}}{{k}}\sum_i CE_i = \frac{{{total:.6f}}}{{{k}}} = {float(report.loss):.6f}"
    if report.reduction == "sum":
        return rf"L = \sum_i CE_i = {float(report.loss):.6f}"
    return r"L = (CE_1, \dots, CE_k)\ \text{one number per pair (the CE column)}"


def _batch_section(report: BatchReport) -> None:
    st.subheader("1 · The batch and its loss")
    st.dataframe(_batch_table(report).style.format(precision=4), width="stretch")
    st.latex(_loss_arithmetic(report))
    cols = st.columns(3)
    cols[0].metric("batch loss (mean CE)", f"{report.mean_loss:.6f}")
    cols[1].metric("sum of CE", f"{report.total_loss:.6f}")
    cols[2].metric("accuracy", f"{report.accuracy:.3f}")


def _show_value(name: str, value: np.ndarray, rows: list[str]) -> None:
    shape = "scalar" if value.ndim == 0 else " × ".join(str(n) for n in value.shape)
    st.caption(f"`{name}`: {shape}")
    if value.ndim == 2 and value.shape[1] > VALUE_COLUMNS:
        st.plotly_chart(batch_plots.matrix_heatmap(value, rows, name), width="stretch")
    elif value.ndim == 0:
        st.code(f"{float(value):.6f}", language=None)
    else:
        st.code(np.array2string(np.round(value, 4), threshold=20, edgeitems=3), language=None)


def _code_section(report: BatchReport) -> None:
    st.subheader("2 · The code, line by line, with the tensors it made")
    st.caption(
        "Our own short module in the spirit of the note's: the classifier is the real model's W_NSP (and pooler), "
        "copied for your session; the encoder ran once for the batch."
    )
    pair_rows = [f"pair {i}" for i in range(1, report.k + 1)]
    for line in report.code_lines():
        rows = list(LABEL_NAMES) if line.name == "dL/dW_NSP" else pair_rows
        code, value = st.columns(2)
        code.code(line.code, language="python", wrap_lines=True)
        with value:
            _show_value(line.name, line.value, rows)


def _gradient_section(report: BatchReport) -> None:
    st.subheader("3 · The gradient it sends back")
    scale = "1/k" if report.reduction == "mean" else "1"
    st.latex(rf"\frac{{\partial L}}{{\partial z_i}} = (\mathrm{{softmax}}(z_i) - \mathrm{{onehot}}(t_i)) \cdot {scale}")
    st.markdown(
        "Why so simple: −log softmax(z)[t] is log Σ exp(z) − z_t, and the derivative of log Σ exp(z) is softmax(z) "
        "itself, so each logit is pushed by *predicted minus wanted*."
        + (
            " With `reduction='none'` backward needs one number, so these are the gradients of the sum."
            if report.reduction == "none"
            else ""
        )
    )
    g = report.gradients
    table = pd.DataFrame(
        {
            "label": [LABEL_NAMES[t] for t in report.labels],
            "p IsNext": report.probabilities[:, 0],
            "p NotNext": report.probabilities[:, 1],
            "dL/dz IsNext": g.d_logits[:, 0],
            "dL/dz NotNext": g.d_logits[:, 1],
        },
        index=pd.RangeIndex(1, report.k + 1, name="pair"),
    )
    st.dataframe(table.style.format(precision=5), width="stretch")
    st.latex(r"\frac{\partial L}{\partial W_{NSP}} = \sum_i \frac{\partial L}{\partial z_i}\, \mathrm{pooled}_i^{\top}")
    st.plotly_chart(batch_plots.matrix_heatmap(g.d_weight, list(LABEL_NAMES), "dL/dW_NSP (2 × H)"), width="stretch")
    st.markdown(f"dL/db_NSP = Σᵢ dL/dzᵢ = **[{g.d_bias[0]:+.6f}, {g.d_bias[1]:+.6f}]**")
    st.success(
        f"Checked against autograd: the largest difference over every gradient is {report.autograd_difference:.1e}."
    )


def _step_controls(lesson: BatchLesson, reduction: str) -> None:
    left, middle, right = st.columns(3)
    lr = left.select_slider("learning rate", LEARNING_RATES, value=0.1, key="batch_lr")
    pooler = middle.checkbox("also step the pooler", key="batch_pooler", disabled=lesson.variant != "bert")
    if right.button("Take one SGD step on the NSP head", key="batch_step"):
        try:
            with st.spinner("Stepping…"):
                lesson.step(float(lr), reduction, pooler)
        except (ValueError, BatchInputError) as err:
            st.error(escape_markdown(str(err)))
    if right.button("Reset", key="batch_reset", help="Back to the model's own head"):
        lesson.reset()


def _step_section(lesson: BatchLesson, reduction: str) -> None:
    st.subheader("4 · One step of learning")
    st.markdown("W ← W − lr · dL/dW and b ← b − lr · dL/db, on **your own copy** of the head: nobody else's changes.")
    _step_controls(lesson, reduction)
    first, last = lesson.history[0], lesson.history[-1]
    cols = st.columns(3)
    cols[0].metric("steps taken", last.step)
    cols[1].metric("batch loss before", f"{first.loss:.6f}")
    cols[2].metric("batch loss now", f"{last.loss:.6f}", delta=f"{last.loss - first.loss:+.6f}", delta_color="inverse")
    if last.step == 0:
        return
    steps = [r.step for r in lesson.history]
    st.plotly_chart(
        batch_plots.loss_by_step(steps, [r.loss for r in lesson.history], [r.unseen_loss for r in lesson.history]),
        width="stretch",
    )
    st.plotly_chart(batch_plots.ce_changes(lesson.changes()), width="stretch")
    st.markdown(
        f"{lesson.pairs_worse()} of {lesson.batch.k} pairs got worse. Every pair shares one W_NSP, and a step "
        "follows the *average* gradient of the batch: a pair whose own gradient points another way is pulled "
        "along with the rest."
    )
    generalised = lesson.generalised()
    if generalised is not None:
        verdict = "generalised" if generalised else "only fitted this batch"
        st.markdown(
            f"On a second batch of {lesson.batch.k} sampled pairs the steps never saw, the mean CE went "
            f"from {first.unseen_loss:.6f} to {last.unseen_loss:.6f}: so far the steps **{verdict}**."
        )


def _mlm_section(lesson: BatchLesson, seed: int) -> None:
    st.subheader("5 · BERT adds the MLM loss")
    if not has_mlm_head(lesson.loaded):
        st.info(NO_MLM_HEAD)
        return
    cached = st.session_state.get("batch_mlm")
    if cached is None or cached[0] is not lesson.batch or cached[1] != seed:
        try:
            model = load_pretraining_model(lesson.loaded)  # read per batch, never kept: it is as big as the model
            cached = (lesson.batch, seed, pretraining_terms(model, lesson.loaded.tokenizer, lesson.batch, seed))
        except BatchInputError as err:
            st.info(escape_markdown(str(err)))
            return
        st.session_state["batch_mlm"] = cached
    terms = cached[2]
    cols = st.columns(3)
    cols[0].metric(f"MLM ({terms.masked_tokens} masked tokens)", f"{terms.mlm:.6f}")
    cols[1].metric("NSP", f"{terms.nsp:.6f}")
    cols[2].metric("MLM + NSP", f"{terms.total:.6f}")
    st.caption(
        f"BertForPreTraining's own loss for this masked batch: {terms.library_total:.6f}. The NSP term here is scored "
        "on the masked input, as in pretraining, so it differs a little from the NSP-only loss above."
    )
    if mlm_head_trained(lesson.loaded) is False:
        st.warning("This run trained NSP only: its MLM head is still random, so the MLM term sits near ln(vocab).")


def _report(lesson: BatchLesson, reduction: str) -> BatchReport:
    """The report, kept until the head or the reduction changes: every tab reruns on any click in the page."""
    key = (lesson.version, reduction)
    cached = st.session_state.get("batch_report")
    if cached is None or cached[0] is not lesson or cached[1] != key:
        cached = (lesson, key, lesson.report(reduction))
        st.session_state["batch_report"] = cached
    return cached[2]


def render(loaded: LoadedModel, max_length: int) -> None:
    st.markdown(
        "A training step sees a **batch**: k pairs, one forward pass, one loss, one gradient. "
        "Labels: **0 = IsNext**, **1 = NotNext**."
    )
    choice = _controls()
    lesson = _lesson(loaded, max_length, choice)
    if lesson is None:
        return
    reduction = st.radio("CrossEntropyLoss reduction", REDUCTIONS, horizontal=True, key="batch_reduction")
    sections = [st.container() for _ in range(5)]
    with sections[3]:  # first, so that a step taken on this run shows in the sections above it
        _step_section(lesson, reduction)
    report = _report(lesson, reduction)
    with sections[0]:
        _batch_section(report)
    with sections[1]:
        _code_section(report)
    with sections[2]:
        _gradient_section(report)
    with sections[4]:
        _mlm_section(lesson, choice["seed"])
