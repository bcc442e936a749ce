"""Objects shared by every browser session of one server process."""

import streamlit as st

from explorer.models import LoadedModel, load_model


@st.cache_resource(show_spinner="Loading the model (once per server)…", max_entries=6)
def cached_model(source: str, device: str) -> LoadedModel:
    # Failures raise and are not cached, so a fixed typo or a restored network works on the next try.
    return load_model(source, device)
