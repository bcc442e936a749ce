"""The sidebar: which model, which device, how long a sequence. Returns the loaded model to use."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer.encoding import DEFAULT_MAX_LENGTH, MAX_POSITIONS, MIN_MAX_LENGTH
from explorer.model_paths import REFUSED_MESSAGE, page_may_open
from explorer.models import (
    BUNDLED_SOURCES,
    BUNDLED_TRAINED,
    DEFAULT_SOURCE,
    LoadedModel,
    ModelLoadError,
    model_card_summary,
)
from explorer.ui.resources import cached_model
from explorer.ui.safe import escape_markdown

OTHER = "Other: Hugging Face id or local folder…"
DEVICE_LABELS = {
    "auto": "auto (CUDA, then MPS, then CPU)",
    "cpu": "CPU",
    "cuda": "GPU (CUDA)",
    "mps": "GPU (Apple MPS)",
}


@dataclass
class Settings:
    loaded: LoadedModel
    device: str
    max_length: int


def _model_options() -> dict[str, str]:
    """Display name -> source, with models trained in this session after the bundled ones."""
    options = {name: source for source, name in BUNDLED_SOURCES.items()}
    for name, path in st.session_state.get("trained_models", []):
        options[f"trained: {name}"] = str(path)
    options[OTHER] = ""
    return options


def _load(source: str, device: str) -> LoadedModel | None:
    try:
        return cached_model(source, device)
    except ModelLoadError as err:
        st.error(escape_markdown(str(err)))
    except Exception as err:
        st.error(escape_markdown(f"Could not load {source!r}: {err.__class__.__name__}: {err}"))
    return None


def render_sidebar() -> Settings:
    with st.sidebar:
        st.header("Model")
        options = _model_options()
        choice = st.selectbox("Model", list(options), key="model_choice")
        source = options[choice]
        if choice == OTHER:
            source = st.text_input(
                "Model id or folder",
                key="model_custom",
                placeholder="bert-base-uncased or /path/to/folder",
                help="A Hugging Face id needs internet (or the local hub cache); a folder saved with "
                "save_pretrained works offline. Only BERT models with safetensors weights load.",
            ).strip()
        device = st.radio("Device", list(DEVICE_LABELS), format_func=DEVICE_LABELS.get, key="device", horizontal=False)
        max_length = st.slider(
            "Max sequence length (tokens)",
            MIN_MAX_LENGTH,
            MAX_POSITIONS,
            DEFAULT_MAX_LENGTH,
            key="max_length",
            help="[CLS] A [SEP] B [SEP] is cut to this many tokens, trimming the longer sentence first.",
        )
        if source and not page_may_open(source):
            st.error(REFUSED_MESSAGE)
            source = ""
        loaded = _load(source, device) if source else None
        if loaded is None:
            if source:
                st.info("Using the bundled model until the chosen one loads.")
            loaded = _load(DEFAULT_SOURCE, device)
        if loaded is not None:
            if loaded.device_message:
                st.warning(loaded.device_message)
            if loaded.source == BUNDLED_TRAINED:
                with st.expander("About this model"):
                    st.markdown(model_card_summary())
                    st.caption("Full model card: explorer/data/minilm_nsp/MODEL_CARD.md")
            st.caption(f"Running on **{loaded.device.type}** · {loaded.model.num_parameters() / 1e6:.1f}M parameters")
    if loaded is None:
        st.error("No model could be loaded, not even the bundled one: run pip install -r requirements.txt.")
        st.stop()
    return Settings(loaded=loaded, device=device, max_length=int(max_length))
