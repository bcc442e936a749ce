"""The page: sidebar settings, then one tab per activity. Only arranges views; the logic is in explorer/."""

import streamlit as st

from explorer.ui import batch_view, eval_view, explorer_view, sampling_view, training_view
from explorer.ui.resources import cached_model
from explorer.ui.server_memory import settle_heap, tune_malloc
from explorer.ui.sidebar import render_sidebar


def main() -> None:
    tune_malloc()
    st.set_page_config(page_title="NSP Explorer", page_icon="🔗", layout="wide")
    st.title("NSP Explorer")
    st.caption("How BERT's Next Sentence Prediction turns two sentences into one number: the loss.")
    settings = render_sidebar()
    explore, batch, sample, train, evaluate = st.tabs(["Explorer", "Batch", "Sample pairs", "Train", "Evaluate"])
    with explore:
        explorer_view.render(settings.loaded, settings.max_length)
    with batch:
        batch_view.render(settings.loaded, settings.max_length)
    with sample:
        sampling_view.render(lambda: settings.loaded, settings.max_length)
    with train:
        training_view.render(cached_model, settings.device)
    with evaluate:
        eval_view.render(settings.loaded, settings.max_length)
    settle_heap()
