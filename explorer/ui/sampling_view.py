"""The "Sample pairs" tab: pairs sampled like BERT's pretraining data, guess-the-label, perturbations.

All widget and state keys start with "sample_"; the only keys written outside that prefix are the
Explorer's own inputs (sentence_a, sentence_b, true_label), set by "Open in explorer".
"""

from __future__ import annotations

import zlib
from typing import Any

import streamlit as st

from explorer.corpus import CORPORA, DEFAULT_CORPUS, Corpus, CorpusError, load_corpus
from explorer.corpus_text import corpus_from_bytes
from explorer.encoding import PairInputError
from explorer.examples import load_examples
from explorer.labels import CHANCE_LOSS, LABEL_NAMES, binary_entropy
from explorer.nsp import NspResult, score_pair
from explorer.perturb import PERTURBATIONS, effect
from explorer.sampling import MODE_DESCRIPTIONS, MODES, PAIR_MODES, PairSampler, SamplingError
from explorer.sampling.shown import ShownPair
from explorer.ui.kept import remembered_upload, upload_hidden
from explorer.ui.safe import escape_markdown

UPLOAD_CHOICE = "Upload a .txt file"
CORPUS_LABELS = {
    "sotu": "State of the Union addresses",
    "wiki": "Wikipedia article leads",
    "kjv": "King James Bible",
    "news": "ABC news articles",
}


def _state():
    ss = st.session_state
    ss.setdefault("sample_score", {"rounds": 0, "student": 0, "model": 0})
    ss.setdefault("sample_current", None)  # the pair on screen: a ShownPair
    ss.setdefault("sample_guess", None)
    ss.setdefault("sample_uploaded", None)  # the last upload that worked: a Corpus
    ss.setdefault("sample_upload_seen", None)  # file id of the last upload parsed, to parse each file once
    ss.setdefault("sample_perturbation", None)
    ss.setdefault("sample_corpus_fingerprint", None)  # the corpus the pair on screen came from
    return ss


# --- corpus ------------------------------------------------------------------------------------


def _corpus() -> Corpus:
    """The corpus chosen; a different one than last run drops the pair on screen (its doc_a indexes the old one)."""
    corpus = _chosen_corpus()
    ss = st.session_state
    if corpus.fingerprint != ss["sample_corpus_fingerprint"]:
        ss["sample_corpus_fingerprint"] = corpus.fingerprint
        _new_current(None)
    return corpus


def _chosen_corpus() -> Corpus:
    ss = _state()
    options = [*CORPORA, UPLOAD_CHOICE]
    choice = st.radio(
        "Corpus",
        options,
        key="sample_corpus_choice",
        horizontal=True,
        format_func=lambda name: CORPUS_LABELS.get(name, name),
    )
    if choice != UPLOAD_CHOICE:
        upload_hidden("sample_upload")
        with st.spinner("Preparing the corpus (split into sentences, cached after the first time)…"):
            return load_corpus(choice)
    upload = st.file_uploader(
        "Plain text, UTF-8: one sentence per line with a blank line between documents (BERT's format), "
        "or ordinary paragraphs (documents separated by two blank lines).",
        type=["txt"],
        key="sample_upload",
    )
    file = remembered_upload("sample_upload", upload)
    if file is None:  # none yet, or the student cleared the box: the uploaded corpus goes too
        ss["sample_uploaded"] = ss["sample_upload_seen"] = ss["sample_upload_error"] = None
        st.caption(f"No file yet: pairs come from the {CORPUS_LABELS[DEFAULT_CORPUS]} until one is uploaded.")
        return load_corpus(DEFAULT_CORPUS)
    name, data, file_id = file
    if file_id != ss["sample_upload_seen"]:
        ss["sample_upload_seen"] = file_id
        try:
            ss["sample_uploaded"] = corpus_from_bytes(data, name)
        except CorpusError as err:
            ss["sample_upload_error"] = str(err)
        else:
            ss["sample_upload_error"] = None
    if ss.get("sample_upload_error"):
        kept = ss["sample_uploaded"]
        keep_note = f" Still using {kept.name}." if kept else " Still using the built-in corpus."
        # The file name is the user's: escaped, so Markdown in it shows as written.
        st.error(escape_markdown(f"This file cannot be used: {ss['sample_upload_error']}{keep_note}"))
    elif upload is None:  # the box was hidden by another choice and came back empty
        st.caption(escape_markdown(f"Using {name}, uploaded earlier: upload another file to replace it."))
    return ss["sample_uploaded"] or load_corpus(DEFAULT_CORPUS)


# --- recipe ------------------------------------------------------------------------------------


# Where a NotNext B comes from: PairSampler options for each choice of the Sample tab.
NEGATIVES: dict[str, dict[str, Any]] = {
    "another document (BERT)": {},
    "a document on a similar subject": {"similar_negatives": 1.0},
    "A's own document, not adjacent (hard)": {"hard_negatives": True},
}


def _recipe() -> tuple[str, float, str, int]:
    left, right = st.columns(2)
    mode = left.radio(
        "Pairs",
        MODES,
        key="sample_mode",
        format_func=lambda m: MODE_DESCRIPTIONS[m],
    )
    pair_mode = PAIR_MODES[mode]
    q = right.slider(f"{pair_mode.negative_name} share q", 0.0, 1.0, 0.5, 0.05, key="sample_not_next_share")
    negatives = right.radio(
        "NotNext B comes from",
        list(NEGATIVES),
        key="sample_negatives",
        disabled=not pair_mode.draws_negatives,
        help="BERT takes B from any other document. A document on a similar subject (one of the 10 that share "
        "the most words with A's, by TF-IDF) or A's own document make NotNext pairs that a change of topic "
        "cannot give away.",
    )
    seed = left.number_input("Seed", min_value=0, value=0, step=1, key="sample_seed")
    cols = st.columns(2)
    cols[0].metric("Best constant predictor: H(q)", f"{binary_entropy(q):.4f}")
    cols[1].metric("Chance loss at 50/50: ln 2", f"{CHANCE_LOSS:.4f}")
    st.caption(
        "A model that ignores the sentences and always predicts the label shares can reach a loss of H(q) nats; "
        "at q = 0.5 that is ln 2. A loss below H(q) means the model learned something about the pair."
    )
    if pair_mode.rationale:
        st.info(pair_mode.rationale)
    return mode, q, negatives, int(seed)


def _sampler(corpus: Corpus, tokenizer, mode: str, q: float, negatives: str, seed: int, max_length: int) -> PairSampler:
    """One sampler per session and recipe: its random state carries on from pair to pair."""
    ss = st.session_state
    key = (corpus.fingerprint, mode, q, negatives, seed, max_length, id(tokenizer))
    if ss.get("sample_sampler_key") != key:
        ss["sample_sampler"] = PairSampler(
            corpus, tokenizer, mode=mode, max_length=max_length, not_next_share=q, seed=seed, **NEGATIVES[negatives]
        )
        ss["sample_sampler_key"] = key
    return ss["sample_sampler"]


def _new_current(current: ShownPair | None) -> None:
    ss = st.session_state
    ss["sample_current"] = current
    ss["sample_guess"] = None
    ss["sample_perturbation"] = None


# --- guessing ----------------------------------------------------------------------------------


def _record_guess(guess: int, truth: int, predicted: int) -> None:
    ss = st.session_state
    ss["sample_guess"] = guess
    score = ss["sample_score"]
    score["rounds"] += 1
    score["student"] += int(guess == truth)
    score["model"] += int(predicted == truth)


def _show_text(label: str, text: str) -> None:
    st.caption(label)
    st.code(text, language=None, wrap_lines=True)  # st.code escapes: user text is never rendered as HTML


def _open_in_explorer(a: str, b: str, label: int) -> None:
    st.session_state["sentence_a"] = a
    st.session_state["sentence_b"] = b
    st.session_state["true_label"] = LABEL_NAMES[label]


def _pair_panel(get_model, corpus: Corpus, max_length: int) -> None:
    current: ShownPair | None = st.session_state["sample_current"]
    if current is None:
        st.info("Press “Sample a pair” or pick a classroom example.")
        return
    _show_pair(current, guessed=st.session_state["sample_guess"] is not None)
    loaded = get_model()
    try:
        result = score_pair(loaded, current.a, current.b, label=current.label, max_length=max_length)
    except PairInputError as err:
        st.error(str(err))
        return
    if st.session_state["sample_guess"] is None:
        _guess_buttons(current, result.predicted)
    else:
        _truth_and_scores(current, result, loaded.head_trained)
    st.button(
        "Open in explorer",
        key="sample_open",
        on_click=_open_in_explorer,
        args=(current.a, current.b, current.label),
        help="Copy this pair and its true label into the Explorer tab.",
    )
    _perturbations(loaded, corpus, current, max_length)


def _show_pair(current: ShownPair, guessed: bool) -> None:
    left, right = st.columns(2)
    with left:
        _show_text("Sentence A", current.a)
    with right:
        _show_text("Sentence B", current.b)
    if current.tokens:
        # Document titles come from the corpus file (escaped); B's only once the guess is in.
        source = escape_markdown(current.source if guessed else current.source_before_guess)
        st.caption(f"{current.tokens[0]} + {current.tokens[1]} WordPiece tokens · {source}")


def _guess_buttons(current: ShownPair, predicted: int) -> None:
    st.write("Does B follow A? Guess before you look:")
    cols = st.columns(2)
    for col, label in zip(cols, (0, 1)):
        col.button(
            f"{LABEL_NAMES[label]}",
            key=f"sample_guess_{label}",
            on_click=_record_guess,
            args=(label, current.label, predicted),
            width="stretch",
        )


def _truth_and_scores(current: ShownPair, result: NspResult, head_trained: bool) -> None:
    guess = st.session_state["sample_guess"]
    truth = LABEL_NAMES[current.label]
    if current.truth_name != truth:  # "swapped" for a sentence-order pair
        truth += f" ({current.truth_name})"
    (st.success if guess == current.label else st.warning)(f"Truth: {truth}. You said {LABEL_NAMES[guess]}.")
    metric_cols = st.columns(4)
    metric_cols[0].metric("p(IsNext)", f"{result.p_is_next:.4f}")
    metric_cols[1].metric("p(NotNext)", f"{result.p_not_next:.4f}")
    metric_cols[2].metric(f"CE for {LABEL_NAMES[current.label]}", f"{result.loss:.4f}")
    metric_cols[3].metric("Model says", LABEL_NAMES[result.predicted])
    if not head_trained:
        st.caption("This model's NSP head is untrained, so its probabilities stay near 50/50.")
    if current.note:
        st.caption(f"Why: {current.note}")


def _score_board() -> None:
    score = st.session_state["sample_score"]
    cols = st.columns(3)
    cols[0].metric("Rounds", score["rounds"])
    cols[1].metric("You", f"{score['student']} / {score['rounds']}")
    cols[2].metric("Model", f"{score['model']} / {score['rounds']}")


# --- perturbations -----------------------------------------------------------------------------


def _perturbations(loaded, corpus: Corpus, current: ShownPair, max_length: int) -> None:
    ss = st.session_state
    st.markdown("**Perturb the pair** and watch p(IsNext)")
    cols = st.columns(len(PERTURBATIONS))
    for col, (kind, title) in zip(cols, PERTURBATIONS.items()):
        if col.button(title, key=f"sample_perturb_{kind}", width="stretch"):
            ss["sample_perturbation"] = kind
    kind = ss["sample_perturbation"]
    if kind is None:
        return
    seed = zlib.crc32((current.a + "\n" + current.b).encode())  # the same pair, the same perturbation
    try:
        shown = effect(loaded, kind, current.a, current.b, corpus, current.doc_a, seed, max_length)
    except (PairInputError, ValueError) as err:
        st.error(str(err))
        return
    before, after = st.columns(2)
    with before:
        st.metric("Before: p(IsNext)", f"{shown.before:.4f}")
        _show_text("A", current.a)
        _show_text("B", current.b)
    with after:
        st.metric(f"After “{PERTURBATIONS[kind]}”: p(IsNext)", f"{shown.after:.4f}", delta=f"{shown.change:+.4f}")
        _show_text("A", shown.perturbed.a)
        _show_text("B", shown.perturbed.b)
        if shown.perturbed.zero_segments:
            st.caption("Same text, but every token_type_id is 0: the model cannot tell A from B by segment.")


# --- classroom examples ------------------------------------------------------------------------


def _classroom_examples() -> None:
    examples = load_examples()
    with st.expander(f"Classroom examples ({len(examples)} pairs written for this course)"):
        index = st.selectbox(
            "Example", range(len(examples)), key="sample_example", format_func=lambda i: examples[i].title()
        )
        chosen = examples[index]

        def use() -> None:
            _new_current(ShownPair.example(chosen))

        st.button("Use this example", key="sample_use_example", on_click=use)


# --- the tab -----------------------------------------------------------------------------------


def render(get_model, max_length: int) -> None:
    _state()
    st.subheader("Sample pairs the way BERT does")
    st.caption(
        "BERT's pretraining pairs: B is the real continuation of A (IsNext) or, half of the time, text from a "
        "different document (NotNext). Label 0 = IsNext, 1 = NotNext."
    )
    corpus = _corpus()
    st.caption(escape_markdown(corpus.describe()))  # it starts with the (uploaded) file name
    mode, q, negatives, seed = _recipe()
    tokenizer = get_model().tokenizer
    if st.button("Sample a pair", key="sample_button", type="primary"):
        try:
            with st.spinner("Tokenising the documents the sampler walks (once per corpus)…"):
                pair = _sampler(corpus, tokenizer, mode, q, negatives, seed, max_length).sample()
        except SamplingError as err:
            st.error(escape_markdown(str(err)))  # the message may name the corpus
        else:
            _new_current(ShownPair.sampled(pair, corpus))
    _classroom_examples()
    _pair_panel(get_model, corpus, max_length)
    _score_board()
