"""The page: sidebar settings, then one tab per activity. Only arranges views; the logic is in explorer/."""

import streamlit as st

from explorer.ui import explorer_view
from explorer.ui.sidebar import render_sidebar


def main() -> None:
    st.set_page_config(page_title="NSP Explorer", page_icon="🔗", layout="wide")
    st.title("NSP Explorer")
    st.caption("How BERT's Next Sentence Prediction turns two sentences into one number: the loss.")
    settings = render_sidebar()
    (explore,) = st.tabs(["Explorer"])
    with explore:
        explorer_view.render(settings.loaded, settings.max_length)
