"""The Train tab: pick settings, press Start, watch the NSP loss fall from ln 2, then use the model.

The run itself lives in explorer.training_runs (a background thread); this view only arranges
widgets, reads the run's event list and draws it. The live part is an st.fragment that reruns itself
every REFRESH_S seconds while the run is active, so the rest of the page stays usable.

`render(get_model, device)`: get_model(source, device) -> LoadedModel, e.g. explorer.ui.resources.cached_model.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import fields, replace

import streamlit as st

from explorer.labels import IS_NEXT, LABEL_NAMES, NOT_NEXT
from explorer.nsp import cross_entropy, score_pair
from explorer.training import MODES, PRESETS, TrainConfig, TrainConfigError, checkpoint_zip, log_csv_text
from explorer.training_plots import accuracy_figure, loss_figure
from explorer.training_runs import RunRefused, get_manager

REFRESH_S = 2.0
WHAT_LABELS = {
    "head": "only the NSP head (W_NSP)",
    "pooler": "pooler + NSP head",
    "top-K": "top K encoder layers + pooler + head",
    "full": "the whole model (fine-tune)",
    "scratch": "a tiny BERT from scratch",
}
MODE_LABELS = {"bert": "BERT chunks", "sentences": "single sentences", "sop": "sentence order (SOP)"}
BF16_LABELS = {"auto": "auto", "on": "on", "off": "off"}
EXAMPLE_PAIR = ("The storm knocked out power across the city.", "Crews worked through the night to restore it.")

# Widget key -> TrainConfig field, for the settings a preset fills in.
FIELD_KEYS = {
    "train_steps": "steps",
    "train_batch_size": "batch_size",
    "train_lr": "lr",
    "train_head_lr": "head_lr",
    "train_max_length": "max_length",
    "train_seed": "seed",
    "train_not_next_share": "not_next_share",
    "train_mode": "mode",
    "train_bf16": "bf16",
    "train_eval_every": "eval_every",
    "train_scratch_layers": "scratch_layers",
    "train_scratch_hidden": "scratch_hidden",
    "train_mlm_too": "mlm_too",
    "train_freeze_words": "freeze_word_embeddings",
}
SCRATCH_KEYS = ("train_scratch_layers", "train_scratch_hidden", "train_mlm_too")  # drawn only for "scratch"
HEAD_SIZE = 64  # BERT's attention head size


def scratch_heads(hidden: int) -> int:
    """About one head per 64 dimensions, as BERT: the largest count up to hidden // 64 that divides hidden."""
    heads = max(1, hidden // HEAD_SIZE)
    while hidden % heads:
        heads -= 1
    return heads


def _apply_preset() -> None:
    """Copy the chosen preset into the setting widgets (a callback: runs before the widgets are drawn)."""
    config = PRESETS[st.session_state["train_preset"]]
    for key, name in FIELD_KEYS.items():
        value = getattr(config, name)
        st.session_state[key] = value if value is not None else config.lr
    what = config.train_what
    st.session_state["train_what"] = "top-K" if config.top_k is not None else what
    st.session_state["train_top_k"] = config.top_k or 2
    st.session_state["train_time_limit"] = int(config.max_seconds or 0)


def _settings(disabled: bool) -> TrainConfig | None:
    """The settings form; returns the config, or None (with a message) when a setting cannot work."""
    if "train_preset" not in st.session_state:
        st.session_state["train_preset"] = "quick demo"
        _apply_preset()
    # Streamlit drops the state of a widget that a run does not draw; re-assigning keeps what the student
    # typed in the scratch settings while another choice hides them.
    for key in SCRATCH_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.selectbox(
        "Preset",
        list(PRESETS),
        key="train_preset",
        on_change=_apply_preset,
        disabled=disabled,
        help="Quick demo: about a minute on a laptop CPU. Longer run: about ten minutes.",
    )
    left, middle, right = st.columns(3)
    with left:
        what = st.selectbox(
            "What to train", list(WHAT_LABELS), format_func=WHAT_LABELS.get, key="train_what", disabled=disabled
        )
        top_k = st.number_input("K (top layers)", 1, 12, key="train_top_k", disabled=disabled or what != "top-K")
        st.selectbox(
            "Pairs",
            list(MODES),
            format_func=MODE_LABELS.get,
            key="train_mode",
            disabled=disabled,
            help="BERT chunks: the original recipe. Single sentences: short, fast, easy to read. "
            "SOP: ALBERT's sentence order task (B before A = label 1).",
        )
        st.slider("NotNext share", 0.1, 0.9, step=0.05, key="train_not_next_share", disabled=disabled)
        st.checkbox(
            "Freeze word embeddings",
            key="train_freeze_words",
            disabled=disabled or what == "scratch",
            help="Keeps the pretrained 30,522-word table fixed: about half of MiniLM's weights, so steps are faster.",
        )
    with middle:
        st.number_input("Steps", 1, 100_000, key="train_steps", disabled=disabled)
        st.number_input("Batch size (pairs)", 1, 1024, key="train_batch_size", disabled=disabled)
        st.number_input("Max sequence length", 8, 512, key="train_max_length", disabled=disabled)
        st.number_input("Time limit (s, 0 = none)", 0, 36_000, key="train_time_limit", disabled=disabled)
    with right:
        st.number_input(
            "Learning rate (encoder)",
            0.0,
            1.0,
            key="train_lr",
            format="%.6f",
            step=1e-5,
            disabled=disabled,
            help="Warmup over the first steps, then linear decay to 0.",
        )
        st.number_input(
            "Learning rate (pooler + head)",
            0.0,
            1.0,
            key="train_head_lr",
            format="%.6f",
            step=1e-4,
            disabled=disabled,
            help="A fresh head learns faster with a larger rate than the encoder.",
        )
        st.number_input(
            "Seed",
            0,
            2**31 - 1,
            key="train_seed",
            disabled=disabled,
            help="Same seed and settings: the same curve on the same machine.",
        )
        st.number_input("Evaluate every (steps)", 1, 100_000, key="train_eval_every", disabled=disabled)
        st.selectbox(
            "bf16 autocast",
            list(BF16_LABELS),
            key="train_bf16",
            disabled=disabled,
            help="Faster on CPUs with AVX-512 BF16 and on recent GPUs.",
        )
    if what == "scratch":
        a, b, c = st.columns(3)
        a.number_input("Layers", 1, 12, key="train_scratch_layers", disabled=disabled)
        b.number_input("Hidden size", 16, 768, step=16, key="train_scratch_hidden", disabled=disabled)
        c.checkbox("MLM + NSP (as BERT pretraining)", key="train_mlm_too", disabled=disabled)
    values = {name: st.session_state[key] for key, name in FIELD_KEYS.items()}
    values["train_what"] = f"top-{int(top_k)}" if what == "top-K" else what
    if what != "scratch":
        values["mlm_too"] = False
    else:
        values["freeze_word_embeddings"] = False
    limit = st.session_state["train_time_limit"]
    values["max_seconds"] = float(limit) if limit else None
    values["scratch_heads"] = scratch_heads(int(values["scratch_hidden"]))
    base = PRESETS[st.session_state["train_preset"]]
    config = replace(base, **{k: v for k, v in values.items() if k in {f.name for f in fields(TrainConfig)}})
    problems = config.problems()
    if problems:
        for problem in problems:
            st.error(problem)
        return None
    return config


def _progress(events: list[dict]) -> tuple[float, str]:
    start = next((e for e in events if e["kind"] == "start"), None)
    steps = [e for e in events if e["kind"] == "step"]
    end = next((e for e in events if e["kind"] == "end"), None)
    if end is not None:  # the run is over: say how it ended, not what it was doing last
        total = start["total_steps"] if start else 0
        done = f"{end['step']} / {total}" if total else str(end["step"])
        status = "failed" if end["status"] == "error" else end["status"]
        return (end["step"] / total if total else 0.0), f"Run {status} at step {done}."
    if start is None:
        return 0.0, "Preparing: loading the model and tokenising the corpus…"
    if not steps:
        return 0.0, "Measuring the untrained model on the held-out pairs…"
    last, total = steps[-1], start["total_steps"]
    rate = last["steps_per_s"]
    left = (total - last["step"]) / rate if rate > 0 else float("nan")
    return last[
        "step"
    ] / total, f"step {last['step']} / {total} · {rate:.2f} steps/s · about {left:.0f} s left at this pace"


def _metrics(events: list[dict]) -> None:
    steps = [e for e in events if e["kind"] == "step"]
    evals = [e for e in events if e["kind"] == "eval"]
    a, b, c = st.columns(3)
    recent = steps[-20:]
    if recent:
        a.metric("Training loss (last 20 steps)", f"{sum(e['loss'] for e in recent) / len(recent):.4f}")
    if evals:
        first, last = evals[0], evals[-1]
        b.metric(
            "Held-out loss",
            f"{last['heldout_loss']:.4f}",
            f"{last['heldout_loss'] - first['heldout_loss']:+.4f}",
            delta_color="inverse",
        )
        c.metric(
            "Held-out accuracy", f"{last['accuracy']:.1%}", f"{(last['accuracy'] - first['accuracy']) * 100:+.1f} pts"
        )


def _register(run) -> bool:
    """Put a finished run's checkpoint into the explorer's model choice, once; True when it was added."""
    models = st.session_state.setdefault("trained_models", [])
    path = str(run.checkpoint)
    if any(existing == path for _, existing in models):
        return False
    name = f"{run.run_id} ({run.config.train_what}, {run.events()[-1].get('step', 0)} steps)"
    models.append((name, path))
    return True


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _compare(run, get_model, device: str) -> None:
    """Before / after on the explorer's current pair: probabilities and the loss for each label."""
    a = st.session_state.get("sentence_a") or EXAMPLE_PAIR[0]
    b = st.session_state.get("sentence_b") or EXAMPLE_PAIR[1]
    st.markdown("**Before / after on the current pair**")
    st.text(f"A: {_shorten(a)}\nB: {_shorten(b)}")  # plain text: the pair is the user's input
    sources = [("after training", str(run.checkpoint))]
    if run.config.train_what != "scratch":
        sources.insert(0, ("before training", run.config.base_model))
    rows = []
    for label, source in sources:
        try:
            result = score_pair(get_model(source, device), a, b)
        except Exception as err:
            st.warning(f"Could not score with the {label} model: {err}")
            continue
        rows.append(
            {
                "model": label,
                "p(IsNext)": round(result.p_is_next, 4),
                "p(NotNext)": round(result.p_not_next, 4),
                "CE if IsNext": round(cross_entropy(result.logits, IS_NEXT), 4),
                "CE if NotNext": round(cross_entropy(result.logits, NOT_NEXT), 4),
                "prediction": LABEL_NAMES[result.predicted],
            }
        )
    if rows:
        st.dataframe(rows, hide_index=True, key="train_compare_table")


def _finished_panel(run, get_model, device: str) -> None:
    if run.status == "error":
        st.error(f"The run failed: {run.message} The curve so far is kept below.")
    elif run.status == "abandoned":
        st.warning(run.message)
    else:
        st.success(f"Run {run.status}. {run.message}".strip())
    if run.checkpoint is None:
        return
    st.caption(f"Saved to `{run.checkpoint}`. Choose it in the sidebar's model list to explore it.")
    _compare(run, get_model, device)
    left, right = st.columns(2)
    left.download_button(
        "Download checkpoint (zip)",
        functools.partial(checkpoint_zip, run.checkpoint),
        file_name=f"{run.run_id}.zip",
        mime="application/zip",
        key="train_download_zip",
        on_click="ignore",
    )
    right.download_button(
        "Download training log (CSV)",
        log_csv_text(run.events()),
        file_name=f"{run.run_id}.csv",
        mime="text/csv",
        key="train_download_log",
        on_click="ignore",
    )


def render(get_model, device: str) -> None:
    session_id = st.session_state.setdefault("train_session_id", uuid.uuid4().hex)
    manager = get_manager()
    run = manager.run_for(session_id)
    running = run is not None and run.active
    st.subheader("Train NSP")
    st.caption(
        "Sample pairs from the corpus (half IsNext, half NotNext), minimise the cross-entropy of the NSP head, and "
        "measure on pairs from documents the model never trains on. A coin flip scores ln 2 ≈ 0.693."
    )
    config = _settings(disabled=running)
    start_col, stop_col, reset_col = st.columns(3)
    if start_col.button("Start", key="train_start", type="primary", disabled=running or config is None):
        try:
            manager.start(session_id, config)
        except (RunRefused, TrainConfigError) as err:
            st.warning(str(err))
        else:
            st.session_state.pop("train_done_seen", None)
            st.rerun()
    if stop_col.button("Stop", key="train_stop", disabled=not running):
        manager.stop(session_id)
    if reset_col.button(
        "Reset",
        key="train_reset",
        disabled=run is None or running,
        help="Forget this run and delete its checkpoint (download it first to keep it).",
    ):
        gone = str(run.checkpoint)  # reset() deletes this folder: take it out of the sidebar's model list too
        manager.reset(session_id)
        st.session_state["trained_models"] = [m for m in st.session_state.get("trained_models", []) if m[1] != gone]
        st.session_state.pop("train_done_seen", None)
        st.rerun()
    _live(manager, session_id, refresh=REFRESH_S if running else None)
    run = manager.run_for(session_id)
    if run is not None and not run.active:
        if run.checkpoint is not None and _register(run):
            st.rerun()  # the sidebar was drawn before this tab: draw it again with the new model listed
        _finished_panel(run, get_model, device)


def _live(manager, session_id: str, refresh: float | None) -> None:
    @st.fragment(run_every=refresh)
    def live_panel() -> None:
        run = manager.run_for(session_id)
        if run is None:
            st.info("Choose a preset and press Start. The chart updates while the model trains.")
            return
        manager.heartbeat(session_id)  # this tab is still open: keep the run alive
        events = run.events()
        share, text = _progress(events)
        st.progress(min(1.0, share), text=text)
        _metrics(events)
        start = next((e for e in events if e["kind"] == "start"), {})
        total = start.get("total_steps")
        if start:
            st.caption(
                f"Training {start['trainable_params']:,} of {start['total_params']:,} parameters on {start['device']}"
                f"{' with bf16 autocast' if start['bf16'] else ''}; held-out: {start['eval_pairs']} pairs from "
                f"{start['heldout_documents']} documents never used for training."
            )
        st.plotly_chart(loss_figure(events, total), key="train_loss_chart", config={"displaylogo": False})
        st.plotly_chart(accuracy_figure(events, total), key="train_accuracy_chart", config={"displaylogo": False})
        if not run.active and refresh is not None and st.session_state.get("train_done_seen") != run.run_id:
            # The run ended while this fragment was polling: redraw the whole page once, so the model list,
            # the buttons and the before/after panel catch up and the polling stops.
            st.session_state["train_done_seen"] = run.run_id
            st.rerun(scope="app")

    live_panel()
