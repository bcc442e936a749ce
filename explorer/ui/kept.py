"""What a student typed or uploaded survives runs that do not draw its widget.

Streamlit forgets a keyed widget's value at the end of any run that did not draw it (an option hidden by another
choice, a section skipped after an input error), and it always brings a file box back empty. These helpers keep
such input for when the widget returns.
"""

from __future__ import annotations

import streamlit as st

UploadedFile = tuple[str, bytes, str]  # name, content, Streamlit's file id (a new upload gets a new one)


def keep(*keys: str) -> None:
    """In a run that does not draw these widgets: keep their values (assigning them back stops Streamlit
    dropping them)."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def remembered_upload(key: str, upload) -> UploadedFile | None:
    """The file in the upload box `key`, or the one it held before it was hidden (it comes back empty);
    None when there was none, or once the student clears the box."""
    ss = st.session_state
    held, memory = f"{key}::held", f"{key}::file"
    if upload is not None:
        ss[memory] = (upload.name, upload.getvalue(), upload.file_id)
    elif ss.get(held):  # it held a file in the last run and is empty now: cleared by the student
        ss.pop(memory, None)
    ss[held] = upload is not None
    return ss.get(memory)


def upload_hidden(key: str) -> None:
    """In a run that does not draw the upload box `key`: when it returns empty, its file is still remembered."""
    st.session_state[f"{key}::held"] = False
