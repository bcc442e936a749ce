"""What a student sees in the Explorer tab, as plain data: the reference for "the speed work changed nothing".

`snapshot(at)` reads the Explorer tab of an AppTest run (metrics, LaTeX, captions, Markdown, tables,
token strips and the data of every figure). Floats in figures are rounded so that the comparison
is about what is drawn, not the last bit of a float. The forward-pass time is left out: it is a
measurement, different on every run. Run this file to rewrite the reference for the fixed pair:
    .venv/bin/python tests/explorer_snapshot.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(__file__).resolve().parent / "data" / "explorer_page_snapshot.json"
PAIR = ("The man went to the store.", "He bought a gallon of milk and some bread.")
DIGITS = 5
VARIABLE_METRICS = {"forward pass"}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DIGITS)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items() if k != "template"}
    return value


def snapshot(at) -> dict[str, Any]:
    tab = at.tabs[0]
    return {
        "metrics": [[m.label, m.value, m.proto.delta] for m in tab.metric if m.label not in VARIABLE_METRICS],
        "latex": [x.value for x in tab.latex],
        "markdown": [x.value for x in tab.markdown],
        "captions": [x.value for x in tab.caption if "forward" not in x.value],
        "html": [x.proto.body for x in tab.get("html")],
        "tables": [x.value.to_dict(orient="list") for x in tab.dataframe],
        "figures": [_rounded(json.loads(x.proto.spec)) for x in tab.get("plotly_chart")],
    }


def run_fixed_pair(open_sections: bool = True):
    """The whole app on the fixed pair, with every section of the Explorer open."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["sentence_a"], at.session_state["sentence_b"] = PAIR
    if open_sections:
        from explorer.ui import explorer_view

        for key in getattr(explorer_view, "ON_DEMAND_SECTIONS", ()):
            at.session_state[key] = True
    at.run()
    assert not at.exception, at.exception
    return at


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    REFERENCE.parent.mkdir(exist_ok=True)
    REFERENCE.write_text(json.dumps(snapshot(run_fixed_pair()), indent=1, sort_keys=True) + "\n")
    print(f"wrote {REFERENCE}")
