"""Section 5 of the Explorer: NSP or sentence order? The pair both ways, and ALBERT's Table 5 in miniature.

Computed only while the section is open: it loads a second model and scores four pairs.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.models import BUNDLED_SOP, BUNDLED_SOURCES, BUNDLED_TRAINED, LoadedModel, ModelLoadError
from explorer.objectives import (
    ORDER_NOTE,
    OWN_DRAW_NOTE,
    TASKS,
    ObjectivesError,
    OrderAnswer,
    cross_table,
    objective_of,
    order_answer,
    read_shipped_table,
    table_rows_for_display,
)
from explorer.ui.kept import show
from explorer.ui.resources import cached_model, model_key
from explorer.ui.safe import escape_markdown

ORDER_SECTION = "explorer_open_order"
SESSION_ROW_PAIRS = 100  # pairs per cell for a model trained in the page: about a minute on a laptop CPU


@st.cache_data(max_entries=128, ttl=3600, show_spinner=False)
def _order(_loaded: LoadedModel, key: tuple, a: str, b: str, max_length: int) -> OrderAnswer:
    return order_answer(_loaded, a, b, max_length)


@st.cache_data(max_entries=8, ttl=3600, show_spinner="Scoring the model on the four tasks…")
def _session_row(_loaded: LoadedModel, key: tuple, n: int) -> dict:
    return cross_table([(_loaded, objective_of(_loaded.source))], n)


def _models(loaded: LoadedModel) -> list[LoadedModel]:
    """The shipped NSP and SOP models (those that ship), and the chosen model when it is another one."""
    device = loaded.device.type
    models = []
    for source in (BUNDLED_TRAINED, BUNDLED_SOP):
        if source in BUNDLED_SOURCES:
            models.append(loaded if loaded.source == source else cached_model(source, device))
    if loaded.source not in (BUNDLED_TRAINED, BUNDLED_SOP):
        models.append(loaded)
    return models


def _order_table(models: list[LoadedModel], a: str, b: str, max_length: int) -> pd.DataFrame:
    rows = []
    for model in models:
        answer = _order(model, model_key(model), a, b, max_length)
        rows.append(
            {
                "model": model.display_name,
                "trained for": objective_of(model.source),
                "p(label 0): A → B": answer.forward,
                "p(label 0): B → A": answer.swapped,
                "answer flips when swapped": answer.flip_words,
            }
        )
    return pd.DataFrame(rows)


def _cross_table(loaded: LoadedModel) -> None:
    table = read_shipped_table()
    if table is None:
        st.info("The measured table is not in this installation: `python -m explorer objectives` computes it.")
        return
    rows = table_rows_for_display(table)
    own_draw = False
    if objective_of(loaded.source).endswith("(trained here)"):
        session_key = f"order_row::{loaded.source}"
        if st.button(
            f"Add the chosen model to the table ({SESSION_ROW_PAIRS} pairs per task, about a minute)",
            key="order_add_row",
        ):
            st.session_state[session_key] = True
        if st.session_state.get(session_key):
            try:
                extra = _session_row(loaded, model_key(loaded), SESSION_ROW_PAIRS)
            except ObjectivesError as err:
                st.error(f"This model cannot join the table: {escape_markdown(str(err))}.")
            else:
                rows[len(table["rows"]) : len(table["rows"])] = table_rows_for_display({**extra, "albert_table5": {}})
                own_draw = any(row.get("own_draw") for row in extra["rows"])
    titles = [task.title for task in TASKS]
    # As text: a number column would show ALBERT's missing news cells as "None".
    shown = [{**row, **{t: "—" if row.get(t) is None else f"{row[t]:.1f} %" for t in titles}} for row in rows]
    st.dataframe(pd.DataFrame(shown, columns=["objective", "model", *titles]), hide_index=True, width="stretch")
    st.caption(
        f"Accuracy on {table['pairs_per_cell']:,} pairs per task (a model added here: {SESSION_ROW_PAIRS}), drawn "
        "from documents no model trained on: the test half of the held-out State of the Union and Wikipedia "
        "documents, and the news corpus, which no training used. ALBERT's rows are the published ones, measured "
        "on its own data (— : not in its table). Label 0 is IsNext for NSP pairs and 'in order' for SOP pairs. "
        "`python -m explorer objectives` recomputes the table." + (f" {OWN_DRAW_NOTE}." if own_draw else "")
    )


def render(loaded: LoadedModel, a: str, b: str, max_length: int) -> None:
    st.subheader("5 · NSP or sentence order? Swap A and B")
    show(ORDER_SECTION)
    with st.expander("Both models on this pair, both ways", key=ORDER_SECTION, on_change="rerun") as section:
        if not section.open:
            return
        try:
            models = _models(loaded)
        except ModelLoadError as err:
            st.error(str(err))
            return
        st.dataframe(
            _order_table(models, a, b, max_length),
            hide_index=True,
            width="stretch",
            column_config={
                name: st.column_config.ProgressColumn(name, format="%.3f", min_value=0.0, max_value=1.0)
                for name in ("p(label 0): A → B", "p(label 0): B → A")
            },
        )
        st.markdown(ORDER_NOTE)
        _cross_table(loaded)
