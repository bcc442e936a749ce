"""Property tests of the corpus upload reader (Sample tab, `sample --corpus FILE`) and of sampling from it.

The property: any bytes give a Corpus that sampling can use, or a CorpusError with a one-line message;
any corpus the reader accepts gives pairs in every mode, or a SamplingError with a message.
"""

from __future__ import annotations

import functools

import pytest
from fuzz_settings import budget
from hypothesis import example, given
from hypothesis import strategies as st

from explorer.corpus import MIN_DOCUMENTS, Corpus, CorpusError
from explorer.corpus_text import corpus_from_bytes, corpus_from_text
from explorer.sampling import MODES, PairSampler, SamplingError

# Words from several scripts, with punctuation, digits, emoji and invisible characters between them.
word = st.sampled_from(
    ["the", "Cat", "sat", "Mr.", "U.S.", "naïve", "東京", "مرحبا", "🙂", "42", "—", "[Applause]", "\u200b", "e\u0301"]
) | st.text(min_size=1, max_size=6)
sentence = st.lists(word, min_size=1, max_size=8).map(" ".join).map(lambda s: s + ".")
document = st.lists(sentence, min_size=1, max_size=5)
documents = st.lists(document, min_size=1, max_size=5)


def bert_format(docs: list[list[str]]) -> str:
    return "\n\n".join("\n".join(doc) for doc in docs)


def prose(docs: list[list[str]]) -> str:
    return "\n\n\n".join(" ".join(doc) for doc in docs)


@functools.cache
def tokenizer():
    from transformers import BertTokenizerFast

    from explorer.models import bundled_encoder_dir

    return BertTokenizerFast.from_pretrained(bundled_encoder_dir())


def read_or_refuse(data: bytes) -> Corpus | None:
    try:
        corpus = corpus_from_bytes(data, "upload.txt")
    except CorpusError as err:
        assert str(err).strip() and "\n" not in str(err), str(err)
        return None
    check_corpus(corpus)
    return corpus


def check_corpus(corpus: Corpus) -> None:
    assert len(corpus.documents) >= MIN_DOCUMENTS
    assert any(len(doc) >= 2 for doc in corpus.documents)
    for doc in corpus.documents:
        assert doc and all(isinstance(s, str) and s.strip() and "\n" not in s for s in doc)


WORST_UPLOADS = [
    b"\xff\xfeT\x00e\x00x\x00t\x00",  # UTF-16
    b"one.\n\n\ntwo.\n",  # two documents of one sentence each
    ("word " * 30_000).encode(),  # one line of 150,000 characters
    "A first sentence here.\nA second one here.\n\n\u2028Third sentence here.\nFourth one.\n".encode(),
]


@budget(60)
@given(st.binary(max_size=400))
@example(b"\x00\x01\x02")
def test_any_bytes_give_a_corpus_or_a_clear_error(data):
    read_or_refuse(data)


@budget(60)
@given(st.text(max_size=400))
def test_any_text_gives_a_corpus_or_a_clear_error(text):
    read_or_refuse(text.encode("utf-8", "surrogatepass"))


@budget(40)
@given(documents, st.booleans())
def test_documents_in_either_layout_read_as_documents(docs, as_prose):
    text = prose(docs) if as_prose else bert_format(docs)
    try:
        corpus = corpus_from_text(text, "upload.txt")
    except CorpusError as err:
        assert str(err).strip() and "\n" not in str(err)
        return
    check_corpus(corpus)


@budget(15)
@given(
    documents,
    st.sampled_from(MODES),
    st.sampled_from([5, 6, 12, 64]),
    st.sampled_from([{}, {"hard_negatives": True}, {"similar_negatives": 1.0}, {"hard_negatives": 0.5}]),
    st.integers(0, 2**32),
)
def test_any_accepted_corpus_samples_pairs_or_says_why(docs, mode, max_length, negatives, seed):
    try:
        corpus = corpus_from_text(bert_format(docs), "upload.txt")
    except CorpusError:
        return
    try:
        sampler = PairSampler(corpus, tokenizer(), mode=mode, max_length=max_length, seed=seed, **negatives)
        pairs = sampler.sample_many(4)
    except SamplingError as err:
        assert str(err).strip()
        return
    for pair in pairs:
        assert pair.label in (0, 1) and pair.n_tokens <= max_length
        assert 0 <= pair.doc_a < len(corpus.documents) and 0 <= pair.doc_b < len(corpus.documents)
        if mode != "sop" and pair.label == 0:
            assert pair.doc_a == pair.doc_b


@pytest.mark.parametrize("data", WORST_UPLOADS)
def test_the_worst_uploads(data):
    read_or_refuse(data)
