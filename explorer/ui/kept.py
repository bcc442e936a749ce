"""What a student typed, chose or uploaded survives runs that do not draw its widget.

Streamlit forgets a keyed widget's value at the end of any run that did not draw it (an option hidden by another
choice, a section skipped after an input error), and the browser draws a widget that comes back at its default,
whatever the server kept. So a widget that may be left out is hidden with hide() in the runs that leave it out,
and passed through show() right before it is drawn: the kept value then goes back to the browser too. A file box
always comes back empty: remembered_upload() keeps its file.
"""

from __future__ import annotations

import streamlit as st

UploadedFile = tuple[str, bytes, str]  # name, content, Streamlit's file id (a new upload gets a new one)


def _hidden(key: str) -> str:
    return f"{key}::hidden"


def hide(*keys: str) -> None:
    """In a run that does not draw these widgets: keep their values (assigning a value back stops Streamlit
    dropping it) until show() hands them back to the browser."""
    ss = st.session_state
    for key in keys:
        if key in ss:
            ss[key] = ss[key]
            ss[_hidden(key)] = True


def show(*keys: str) -> None:
    """Right before drawing these widgets: a value kept while they were hidden is set again, which Streamlit
    sends to the browser with the widget. A widget given here must not also take a default value argument
    (Streamlit warns about both): give it its default with st.session_state.setdefault instead."""
    ss = st.session_state
    for key in keys:
        if ss.pop(_hidden(key), False) and key in ss:
            ss[key] = ss[key]


def remembered_upload(key: str, upload) -> UploadedFile | None:
    """The file in the upload box `key`, or the one it held before it was hidden (it comes back empty);
    None when there was none, or once the student clears the box."""
    ss = st.session_state
    held, memory = f"{key}::held", f"{key}::file"
    if upload is not None:
        kept = ss.get(memory)
        if kept is None or kept[2] != upload.file_id:  # a new file: copied once, not on every rerun
            ss[memory] = (upload.name, upload.getvalue(), upload.file_id)
    elif ss.get(held):  # it held a file in the last run and is empty now: cleared by the student
        ss.pop(memory, None)
    ss[held] = upload is not None
    return ss.get(memory)


def upload_hidden(key: str) -> None:
    """In a run that does not draw the upload box `key`: when it returns empty, its file is still remembered."""
    st.session_state[f"{key}::held"] = False
