"""Objects shared by every browser session of one server process."""

from pathlib import Path

import streamlit as st

from explorer.device import DEVICE_NAMES, limit_threads_from_env
from explorer.embeddings import EmbeddingSum, SegmentVectors, embedding_sum, segment_vectors
from explorer.encoding import PairEncoding
from explorer.models import LoadedModel, load_model, source_stamp
from explorer.nsp import NspResult, score_pair


def cached_model(source: str, device: str) -> LoadedModel:
    """The server-wide loaded model; a local folder whose files changed since it was loaded is loaded again."""
    loaded = _cached_model(source, device)
    if loaded.files_stamp != source_stamp(source):
        _cached_model.clear(source, device)
        loaded = _cached_model(source, device)
    return loaded


@st.cache_resource(show_spinner="Loading the model (once per server)…", max_entries=6)
def _cached_model(source: str, device: str) -> LoadedModel:
    limit_threads_from_env()
    # Failures raise and are not cached, so a fixed typo or a restored network works on the next try.
    loaded = load_model(source, device)
    # One throw-away forward pass: the first one pays for kernel selection and memory set-up, and a
    # student should not read that one-off cost as "the forward pass took 500 ms".
    score_pair(loaded, "A warm-up sentence.", "Another one.")
    return loaded


def forget_cached_model(folder: Path) -> None:
    """A deleted checkpoint's model leaves the server-wide cache too (for every device it may have been
    loaded on), so a session's trained model does not outlive its checkpoint in memory."""
    for device in DEVICE_NAMES:
        _cached_model.clear(str(folder), device)


def model_key(loaded: LoadedModel) -> tuple[str, str, int]:
    # The same source may be loaded again (a trained folder rewritten): the load's number tells them apart, where
    # id(model) could be reused by a later model once the first is freed.
    return loaded.source, str(loaded.device), loaded.load_id


# The pair's numbers, cached per (model, pair, settings): a label change, an expander opened or another
# tab's widget reruns the Explorer without a new forward pass, and every student who opens the page
# shares the default pair's. Bounded, and each caller gets its own copy (st.cache_data unpickles).
@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _score(_loaded: LoadedModel, model_key: tuple, a: str, b: str, label: int, max_length: int) -> NspResult:
    return score_pair(_loaded, a, b, label=label, max_length=max_length)


def cached_score(loaded: LoadedModel, a: str, b: str, label: int, max_length: int) -> NspResult:
    return _score(loaded, model_key(loaded), a, b, label, max_length)


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)  # up to 512 x H x 4 arrays each: fewer kept
def _embedding_sum(_loaded: LoadedModel, model_key: tuple, _encoding: PairEncoding, ids: tuple) -> EmbeddingSum:
    return embedding_sum(_loaded.model, _encoding)


def cached_embedding_sum(loaded: LoadedModel, encoding: PairEncoding) -> EmbeddingSum:
    ids = (tuple(encoding.input_ids), tuple(encoding.token_type_ids))
    return _embedding_sum(loaded, model_key(loaded), encoding, ids)


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def _segment_vectors(_loaded: LoadedModel, model_key: tuple) -> SegmentVectors:
    return segment_vectors(_loaded.model)


def cached_segment_vectors(loaded: LoadedModel) -> SegmentVectors:
    return _segment_vectors(loaded, model_key(loaded))
