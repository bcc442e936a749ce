"""Showing text that came from a user (file names, model ids, values from an upload) inside Markdown."""

import re

# Characters Streamlit's Markdown gives a meaning: emphasis, code, links, headings, tables, LaTeX, HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$<>:])")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown syntax so the text renders exactly as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
