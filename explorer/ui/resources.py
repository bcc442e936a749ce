"""Objects shared by every browser session of one server process."""

import streamlit as st

from explorer.models import LoadedModel, load_model
from explorer.nsp import score_pair


@st.cache_resource(show_spinner="Loading the model (once per server)…", max_entries=6)
def cached_model(source: str, device: str) -> LoadedModel:
    # Failures raise and are not cached, so a fixed typo or a restored network works on the next try.
    loaded = load_model(source, device)
    # One throw-away forward pass: the first one pays for kernel selection and memory set-up, and a
    # student should not read that one-off cost as "the forward pass took 500 ms".
    score_pair(loaded, "A warm-up sentence.", "Another one.")
    return loaded
