"""The Train tab: pick settings, press Start, watch the NSP loss fall from ln 2, then use the model.

The run itself lives in explorer.training.runs (a child process, watched by a thread); this view only arranges
widgets, reads the run's event list and draws it. The live part is an st.fragment that reruns itself
every REFRESH_S seconds while the run is active, so the rest of the page stays usable.

`render(get_model, device)`: get_model(source, device) -> LoadedModel, e.g. explorer.ui.resources.cached_model.
"""

from __future__ import annotations

import functools
import uuid

import streamlit as st

from explorer.labels import IS_NEXT, NOT_NEXT, binary_entropy, constant_accuracy, prior_logit_gap
from explorer.nsp import cross_entropy, head_bias_gap, score_pair
from explorer.sampling import label_names, task_of
from explorer.training import PRESETS, TrainConfig, TrainConfigError, checkpoint_zip, log_csv_text
from explorer.training.config import TRAIN_CHOICES, TRAIN_LABELS, train_what_parts, with_what_to_train
from explorer.training.events import (
    EndEvent,
    EvalEvent,
    Event,
    PlanEvent,
    StartEvent,
    StepEvent,
    first_of,
    last_of,
    of_type,
    planned_steps,
)
from explorer.training.log import AVERAGE_WINDOW, moving_average
from explorer.training.plots import accuracy_figure, loss_figure
from explorer.training.runs import RunRefused, get_manager
from explorer.ui.kept import hide, show
from explorer.ui.resources import forget_cached_model
from explorer.ui.session_end import on_session_end
from explorer.ui.settings_form import load_into_state, page_names, settings_widgets, values_from_state

REFRESH_S = 2.0
PREFIX = "train_"  # widget key = PREFIX + the TrainConfig setting's name
EXAMPLE_PAIR = ("The storm knocked out power across the city.", "Crews worked through the night to restore it.")
MAIN = page_names(TrainConfig, "main")
SCRATCH = page_names(TrainConfig, "main", only_for="scratch")  # drawn only for "scratch"
ADVANCED = page_names(TrainConfig, "advanced")


def _apply_preset() -> None:
    """Copy the chosen preset into the setting widgets (a callback: runs before the widgets are drawn)."""
    config = PRESETS[st.session_state["train_preset"]]
    load_into_state(config, PREFIX)
    choice, top_k = train_what_parts(config.train_what)
    st.session_state["train_what"] = choice
    st.session_state["train_top_k"] = top_k or 2


def _what_to_train(place, disabled: bool) -> tuple[str, int]:
    what = place.selectbox(
        "What to train", list(TRAIN_CHOICES), format_func=TRAIN_LABELS.get, key="train_what", disabled=disabled
    )
    top_k = place.number_input("K (top layers)", 1, 12, key="train_top_k", disabled=disabled or what != "top-K")
    return what, int(top_k)


def _settings(disabled: bool) -> TrainConfig | None:
    """The settings form; returns the config, or None (with a message) when a setting cannot work."""
    if "train_preset" not in st.session_state:
        st.session_state["train_preset"] = "quick demo"
        _apply_preset()
    st.selectbox(
        "Preset",
        list(PRESETS),
        key="train_preset",
        on_change=_apply_preset,
        disabled=disabled,
        help="Quick demo: about a minute on a laptop CPU. Longer run: about ten minutes.",
    )
    columns = st.columns(3)
    what, top_k = _what_to_train(columns[0], disabled)
    frozen_for_scratch = ("freeze_word_embeddings",) if what == "scratch" else ()
    settings_widgets(TrainConfig, PREFIX, MAIN, [columns[1], columns[2], columns[0]], disabled, frozen_for_scratch)
    scratch_keys = [PREFIX + name for name in SCRATCH]  # drawn only for a model from scratch (ui/kept.py)
    if what == "scratch":
        show(*scratch_keys)
        settings_widgets(TrainConfig, PREFIX, SCRATCH, list(st.columns(3)), disabled)
    else:
        hide(*scratch_keys)
    with st.expander("More settings"):
        settings_widgets(TrainConfig, PREFIX, ADVANCED, list(st.columns(3)), disabled)
    shown = MAIN + ADVANCED + (SCRATCH if what == "scratch" else [])
    base = PRESETS[st.session_state["train_preset"]]
    config = with_what_to_train(base, what, top_k, values_from_state(TrainConfig, PREFIX, shown))
    problems = config.problems()
    if problems:
        for problem in problems:
            st.error(problem)
        return None
    return config


def _progress(events: list[Event], fit_seconds: float | None = None) -> tuple[float, str]:
    """The progress bar: share done and a line of text. fit_seconds: the time limit of a run fitted to it."""
    start = first_of(events, StartEvent)
    last = last_of(events, StepEvent)
    end = last_of(events, EndEvent)
    if end is not None:  # the run is over: say how it ended, not what it was doing last
        total = planned_steps(events) or 0
        done = f"{end.step} / {total}" if total else str(end.step)
        status = "failed" if end.status == "error" else end.status
        return (end.step / total if total else 0.0), f"Run {status} at step {done}."
    if start is None:
        return 0.0, "Preparing: loading the model and tokenising the corpus…"
    if last is None:
        return 0.0, "Measuring the untrained model on the held-out pairs…"
    return _step_progress(events, last, planned_steps(events) or start.total_steps, fit_seconds)


def _step_progress(events: list[Event], last: StepEvent, total: int, fit_seconds: float | None) -> tuple[float, str]:
    if last.step >= total:
        return 1.0, f"step {last.step} / {total} · the last held-out evaluation, then saving the model…"
    if fit_seconds:  # the step count follows the measured speed: the clock is what the student can trust
        left = max(fit_seconds - last.elapsed, 0.0)
        if last_of(events, PlanEvent) is None:
            return min(last.elapsed / fit_seconds, 1.0), (
                f"step {last.step} · measuring this machine's speed to fit the schedule to {fit_seconds:.0f} s"
            )
        return last.step / total, f"step {last.step} / {total} · about {left:.0f} s left of {fit_seconds:.0f} s"
    rate = last.steps_per_s
    left = (total - last.step) / rate if rate > 0 else float("nan")
    return last.step / total, f"step {last.step} / {total} · {rate:.2f} steps/s · about {left:.0f} s left at this pace"


def _metrics(events: list[Event]) -> None:
    losses = [e.loss for e in of_type(events, StepEvent)]
    evals = of_type(events, EvalEvent)
    a, b, c = st.columns(3)
    if losses:
        a.metric(f"Training loss (last {AVERAGE_WINDOW} steps)", f"{moving_average(losses)[-1]:.4f}")
    if evals:
        first, last = evals[0], evals[-1]
        b.metric(
            "Held-out loss",
            f"{last.heldout_loss:.4f}",
            f"{last.heldout_loss - first.heldout_loss:+.4f}",
            delta_color="inverse",
        )
        c.metric("Held-out accuracy", f"{last.accuracy:.1%}", f"{(last.accuracy - first.accuracy) * 100:+.1f} pts")


def _register(run) -> bool:
    """Put a finished run's checkpoint into the explorer's model choice, once; True when it was added."""
    models = st.session_state.setdefault("trained_models", [])
    path = str(run.checkpoint)
    if any(existing == path for _, existing in models):
        return False
    end = last_of(run.events(), EndEvent)
    name = f"{run.run_id} ({run.config.train_what}, {end.step if end else 0} steps)"
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
    names = label_names(run.config.mode)
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
                f"p({names[IS_NEXT]})": round(result.p_is_next, 4),
                f"p({names[NOT_NEXT]})": round(result.p_not_next, 4),
                f"CE if {names[IS_NEXT]}": round(cross_entropy(result.logits, IS_NEXT), 4),
                f"CE if {names[NOT_NEXT]}": round(cross_entropy(result.logits, NOT_NEXT), 4),
                "prediction": names[result.predicted],
            }
        )
    if rows:
        st.dataframe(rows, hide_index=True, key="train_compare_table")


def _prior(run, get_model, device: str) -> None:
    """The 50/50 question: the label prior a constant predictor would learn, beside what the head learned."""
    q = run.config.not_next_share
    names = label_names(run.config.mode)
    try:
        gap = head_bias_gap(get_model(str(run.checkpoint), device).model)
    except Exception as err:
        st.warning(f"Could not read the trained head: {err}")
        return
    final = last_of(run.events(), EvalEvent)
    st.markdown(f"**The label prior: {names[NOT_NEXT]} share q = {q:g}**")
    cols = st.columns(4)
    cols[0].metric("best constant: b₁ − b₀ = log(q / (1 − q))", f"{prior_logit_gap(q):+.4f}")
    cols[1].metric("trained head: b₁ − b₀", f"{gap:+.4f}")
    cols[2].metric("constant predictor accuracy", f"{constant_accuracy(q):.1%}")
    cols[3].metric("held-out accuracy", f"{final.accuracy:.1%}" if final else "–")
    st.caption(
        f"A model that ignores the pair can still beat a coin flip when q ≠ 0.5: it answers "
        f"{names[NOT_NEXT] if q > 0.5 else names[IS_NEXT]} every time, and the bias gap log(q / (1 − q)) in the head "
        "gives it the lowest loss such a model can have. Compare the trained head's gap with it: the head also "
        "reads the pooled vector, so its bias holds the prior only in part, and held-out accuracy above the constant "
        "predictor's is what the model learned from the pairs themselves."
    )


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
    _prior(run, get_model, device)
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


def _task_caption(mode: str, q: float) -> str:
    """What a run does, with the shares of its two labels and what a constant answer scores at those shares."""
    names = label_names(mode)
    shares = f"half {names[IS_NEXT]}, half {names[NOT_NEXT]}"
    chance = "A coin flip scores ln 2 ≈ 0.693."
    if q != 0.5:
        shares = f"{1 - q:.0%} {names[IS_NEXT]}, {q:.0%} {names[NOT_NEXT]}"
        chance = (
            f"Always giving the more frequent label scores H(q) = {binary_entropy(q):.3f} and "
            f"{constant_accuracy(q):.0%} accuracy: the bar to beat."
        )
    return (
        f"Sample pairs from the corpus ({shares}), minimise the cross-entropy of the {task_of(mode)} head "
        f"(label 0 = {names[IS_NEXT]}), and measure on pairs from documents the model never trains on. {chance}"
    )


def render(get_model, device: str) -> None:
    session_id = st.session_state.setdefault("train_session_id", uuid.uuid4().hex)
    manager = get_manager()
    manager.on_checkpoint_deleted(forget_cached_model)  # a deleted run's model leaves memory too (once per process)
    # Nobody can reach a closed session's run again: stop it, delete its checkpoint and drop its model then,
    # not an hour later.
    on_session_end("train_session_end", functools.partial(manager.reset, session_id))
    run = manager.run_for(session_id)
    running = run is not None and run.active
    preset = PRESETS[st.session_state.get("train_preset", "quick demo")]
    mode = st.session_state.get(PREFIX + "mode") or preset.mode
    q = st.session_state.get(PREFIX + "not_next_share", preset.not_next_share)
    st.subheader(f"Train {task_of(mode)}")
    st.caption(_task_caption(mode, q))
    config = _settings(disabled=running)
    start_col, stop_col, reset_col = st.columns(3)
    if start_col.button("Start", key="train_start", type="primary", disabled=running or config is None) and config:
        try:
            manager.start(session_id, config)
        except (RunRefused, TrainConfigError) as err:
            st.warning(str(err))
        else:
            st.session_state.pop("train_done_seen", None)
            st.rerun()
    if stop_col.button("Stop", key="train_stop", disabled=not running):
        manager.stop(session_id)
    if (
        reset_col.button(
            "Reset",
            key="train_reset",
            disabled=run is None or running,
            help="Forget this run and delete its checkpoint (download it first to keep it).",
        )
        and run is not None
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
        share, text = _progress(events, run.config.max_seconds if run.config.fit_to_time else None)
        st.progress(min(1.0, share), text=text)
        _metrics(events)
        start = first_of(events, StartEvent)
        total = planned_steps(events)
        plan = last_of(events, PlanEvent)
        if plan:
            st.caption(
                f"Fitted to the time limit: at {plan.steps_per_s:.2f} steps/s (measured on this machine as it "
                f"trains) {plan.steps} steps fit, and the learning-rate schedule ends there."
            )
        if start:
            st.caption(
                f"Training {start.trainable_params:,} of {start.total_params:,} parameters on {start.device}"
                f"{' with bf16 autocast' if start.bf16 else ''}; held-out: {start.eval_pairs} pairs from "
                f"{start.heldout_documents} documents never used for training."
            )
        st.plotly_chart(loss_figure(events, total), key="train_loss_chart", config={"displaylogo": False})
        st.plotly_chart(accuracy_figure(events, total), key="train_accuracy_chart", config={"displaylogo": False})
        if not run.active and refresh is not None and st.session_state.get("train_done_seen") != run.run_id:
            # The run ended while this fragment was polling: redraw the whole page once, so the model list,
            # the buttons and the before/after panel catch up and the polling stops.
            st.session_state["train_done_seen"] = run.run_id
            st.rerun(scope="app")

    live_panel()
