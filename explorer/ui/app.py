"""The page: sidebar settings, then one tab per activity. Only arranges views; the logic is in explorer/."""

import importlib

import streamlit as st

from explorer.ui import eval_view, explorer_view
from explorer.ui.sidebar import render_sidebar


def _optional_view(name: str):
    """Views still being built by other work items appear once their module exists."""
    try:
        return importlib.import_module(f"explorer.ui.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"explorer.ui.{name}":
            raise
        return None


def main() -> None:
    st.set_page_config(page_title="NSP Explorer", page_icon="🔗", layout="wide")
    st.title("NSP Explorer")
    st.caption("How BERT's Next Sentence Prediction turns two sentences into one number: the loss.")
    settings = render_sidebar()
    sampling_view, training_view = _optional_view("sampling_view"), _optional_view("training_view")
    names = ["Explorer"] + (["Sample pairs"] if sampling_view else []) + (["Train"] if training_view else []) + ["Evaluate"]
    tabs = dict(zip(names, st.tabs(names)))
    with tabs["Explorer"]:
        explorer_view.render(settings.loaded, settings.max_length)
    if sampling_view:
        with tabs["Sample pairs"]:
            sampling_view.render(lambda: settings.loaded, settings.max_length)
    if training_view:
        with tabs["Train"]:
            training_view.render(lambda: settings.loaded, settings.device)
    with tabs["Evaluate"]:
        eval_view.render(settings.loaded, settings.max_length)
