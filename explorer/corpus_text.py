"""User text as a corpus: an upload or a file, in BERT's format or as prose, with messages for people.

Two text layouts are understood:
- BERT's pretraining format: one sentence per line, a blank line between documents;
- ordinary prose: paragraphs separated by blank lines, split into sentences offline with nupunkt.
  Documents are separated by two or more blank lines (or a line of ---); a text without such
  separators treats each paragraph as a document.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from explorer.corpus import (
    MIN_DOCUMENTS,
    PARAGRAPH_BREAK,
    Corpus,
    CorpusError,
    clean_sentence,
    document_from_paragraphs,
    keep_sentence,
    split_sentences,
)

MAX_CORPUS_BYTES = 50 * 1024 * 1024
MAX_LINE_CHARS = 100_000  # longer than any paragraph: a file that is one giant line is not prose
_DOCUMENT_BREAK = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}|\n[ \t]*(?:-{3,}|\*{3,}|\f)[ \t]*\n|\f")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s*$")


def looks_like_bert_format(text: str) -> bool:
    """One sentence per line (blank lines between documents), as opposed to prose paragraphs.

    Most lines must be a single sentence AND end like a sentence: hard-wrapped prose has one
    "sentence" per line too, but its lines stop mid-sentence.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return False
    sample = lines[:: max(1, len(lines) // 400)]  # enough lines to judge, quick on big files
    single = sum(len(split_sentences(line)) == 1 for line in sample)
    ended = sum(bool(_SENTENCE_END.search(line)) for line in sample)
    return single >= 0.8 * len(sample) and ended >= 0.6 * len(sample)


def _bert_documents(text: str) -> list[list[str]]:
    documents = []
    for block in PARAGRAPH_BREAK.split(text):
        sentences = [clean_sentence(line) for line in block.splitlines()]
        documents.append([s for s in sentences if keep_sentence(s, 1)])
    return [doc for doc in documents if doc]


def _prose_documents(text: str) -> list[list[str]]:
    blocks = _DOCUMENT_BREAK.split(text)
    if len(blocks) < MIN_DOCUMENTS:
        blocks = PARAGRAPH_BREAK.split(text)  # no document separators: each paragraph is a document
        groups = [[block] for block in blocks]
    else:
        groups = [PARAGRAPH_BREAK.split(block) for block in blocks]
    documents = [document_from_paragraphs(paragraphs, 1) for paragraphs in groups]
    return [doc for doc in documents if doc]


def check_documents(documents: list[list[str]], layout: str) -> None:
    if not documents:
        raise CorpusError("The text holds no sentences.")
    if len(documents) < MIN_DOCUMENTS:
        raise CorpusError(
            f"The text holds only one document ({layout}). NotNext pairs take sentence B from another "
            "document, so at least two are needed: separate documents with a blank line (BERT format) "
            "or with two blank lines (paragraphs)."
        )
    if all(len(doc) < 2 for doc in documents):
        raise CorpusError(
            "Every document has a single sentence, so no pair could be IsNext (is there a blank line "
            "after every line? In BERT's format a blank line separates documents, not sentences)."
        )


def corpus_from_text(text: str, name: str = "uploaded text") -> Corpus:
    """Read BERT-format text or ordinary paragraphs into a Corpus, or raise CorpusError."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError("The text is empty.")
    longest = max(len(line) for line in text.split("\n"))
    if longest > MAX_LINE_CHARS:
        raise CorpusError(
            f"One line is {longest:,} characters long (the limit is {MAX_LINE_CHARS:,}): this does not look "
            "like sentences or paragraphs. Use one sentence per line, or paragraphs separated by blank lines."
        )
    if looks_like_bert_format(text):
        layout, documents = "BERT format: one sentence per line", _bert_documents(text)
    else:
        layout, documents = "paragraphs split into sentences", _prose_documents(text)
    check_documents(documents, layout)
    return Corpus(name, documents, layout=layout)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark) or a clear CorpusError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError("The file is UTF-16 text. Save it as UTF-8 and upload it again.")
    if b"\x00" in data[:65536]:
        raise CorpusError("The file looks binary (it contains NUL bytes), not plain text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CorpusError(
            f"The file is not UTF-8 text (byte {err.start} cannot be decoded). If it is plain text in "
            "another encoding (for example Latin-1 or Windows-1252), save it as UTF-8 and upload it again."
        ) from None
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.01 * min(len(text), 65536):
        raise CorpusError("The file looks binary (many control characters), not plain text.")
    return text


def corpus_from_bytes(data: bytes, name: str = "uploaded file") -> Corpus:
    """An uploaded file as a Corpus: size, encoding and layout checked, with messages for people."""
    if not data or not data.strip():
        raise CorpusError("The file is empty.")
    if len(data) > MAX_CORPUS_BYTES:
        raise CorpusError(f"The file is {len(data) / 2**20:.1f} MB; the limit is {MAX_CORPUS_BYTES // 2**20} MB.")
    return corpus_from_text(decode_text(data), name)


def corpus_from_path(path: str | os.PathLike, name: str | None = None) -> Corpus:
    path = Path(path)
    try:
        data = path.read_bytes()
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise CorpusError(f"Cannot read {path}: {getattr(err, 'strerror', None) or err}.") from None
    return corpus_from_bytes(data, name or path.name)
