"""The loss of a batch, its gradients and SGD steps, each checked against the library or autograd."""

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.batch import (
    MAX_K,
    BatchInputError,
    check_k,
    encode_batch,
    example_pairs,
    file_pairs,
)
from explorer.batch_head import autograd_gradients, closed_form_gradients, copy_head, reduction_scale
from explorer.batch_lesson import start_lesson
from explorer.evaluate import LabelledPair
from explorer.nsp import score_pair

WORDS = [
    "river",
    "stone",
    "music",
    "garden",
    "winter",
    "bread",
    "lamp",
    "train",
    "ocean",
    "paper",
    "city",
    "quiet",
    "market",
    "morning",
    "song",
]


def made_up_pairs(k: int, seed: int = 0) -> list[LabelledPair]:
    """Pairs of random length (so the batch needs padding) written from a small word list."""
    rng = random.Random(seed)

    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 30))) + "."

    return [LabelledPair(sentence(), sentence(), rng.randint(0, 1)) for _ in range(k)]


def library_loss(loaded, batch) -> float:
    with torch.no_grad():
        return float(loaded.model(**batch.inputs, labels=batch.labels).loss)


@pytest.mark.parametrize("k", [1, 8, 64])
def test_batch_loss_equals_hugging_faces_for_mean_and_sum(tiny, k):
    lesson = start_lesson(tiny, made_up_pairs(k, seed=k), "bert")
    reference = library_loss(tiny, lesson.batch)
    assert abs(float(lesson.report("mean").loss) - reference) < 1e-6
    assert abs(float(lesson.report("sum").loss) - reference * k) < 1e-6 * k
    none = lesson.report("none")
    assert none.loss.shape == (k,)
    assert np.allclose(none.loss, none.cross_entropy)


def test_per_pair_cross_entropy_and_logits_match_one_pair_at_a_time(tiny):
    pairs = made_up_pairs(8, seed=3)
    report = start_lesson(tiny, pairs, "bert").report("mean")
    assert len({len(e.input_ids) for e in encode_batch(tiny, pairs).encodings}) > 1  # padding really happens
    for i, pair in enumerate(pairs):
        alone = score_pair(tiny, pair.a, pair.b, label=pair.label)
        assert np.abs(report.logits[i] - alone.logits).max() < 1e-5
        assert abs(report.cross_entropy[i] - alone.loss) < 1e-5


def test_textbook_variant_puts_w_nsp_on_raw_h_cls(tiny):
    pairs = made_up_pairs(4, seed=5)
    report = start_lesson(tiny, pairs, "textbook").report("mean")
    for i, pair in enumerate(pairs):
        alone = score_pair(tiny, pair.a, pair.b)
        assert np.abs(report.logits[i] - alone.textbook_logits).max() < 1e-5
    assert np.allclose(report.pooled, report.h_cls)


@pytest.mark.parametrize("variant", ["bert", "textbook"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_closed_form_gradients_equal_autograd(tiny, variant, reduction):
    lesson = start_lesson(tiny, made_up_pairs(16, seed=7), variant)
    closed = closed_form_gradients(lesson.head, lesson.h_cls, lesson.batch.labels, reduction)
    checked = autograd_gradients(lesson.head, lesson.h_cls, lesson.batch.labels, reduction)
    assert closed.max_difference(checked) < 1e-6
    assert (closed.d_pool_weight is not None) == (variant == "bert")
    # dL/dz = (softmax(z) - onehot(t)) * scale, written out once more against torch's softmax
    report = lesson.report(reduction)
    expected = (F.softmax(torch.tensor(report.logits), dim=1) - F.one_hot(lesson.batch.labels, 2)).numpy()
    assert np.abs(report.gradients.d_logits - expected * reduction_scale(reduction, 16)).max() < 1e-6
    assert report.autograd_difference < 1e-6


def test_gradient_changes_with_the_head_not_only_the_batch(tiny):
    # A head that was stepped gives different gradients, still equal to autograd's.
    lesson = start_lesson(tiny, made_up_pairs(8, seed=2), "bert")
    before = lesson.report().gradients
    lesson.step(0.5, pooler=True)
    after = lesson.report()
    assert np.abs(after.gradients.d_weight - before.d_weight).max() > 1e-6
    assert after.autograd_difference < 1e-6


def test_one_small_sgd_step_lowers_the_batch_loss(tiny):
    lesson = start_lesson(tiny, made_up_pairs(8, seed=11), "bert")
    before = lesson.history[0].loss
    report = lesson.report("mean")
    weight = lesson.head.classifier.weight.detach().double().numpy().copy()
    record = lesson.step(0.05)
    assert record.loss < before
    # The step is exactly W <- W - lr dL/dW with the closed-form gradient.
    stepped = lesson.head.classifier.weight.detach().double().numpy()
    assert np.abs(stepped - (weight - 0.05 * report.gradients.d_weight)).max() < 1e-6


def test_steps_never_touch_the_shared_model(tiny):
    shared = {name: value.clone() for name, value in tiny.model.state_dict().items()}
    one = start_lesson(tiny, made_up_pairs(8, seed=1), "bert", unseen_pairs=lambda: made_up_pairs(8, seed=99))
    two = start_lesson(tiny, made_up_pairs(4, seed=2), "textbook")
    for _ in range(5):
        one.step(1.0, pooler=True)
        two.step(1.0, reduction="sum")
    assert all(torch.equal(value, shared[name]) for name, value in tiny.model.state_dict().items())
    assert all(p.grad is None for p in tiny.model.parameters())
    # another session starting now still gets the loaded head
    fresh = start_lesson(tiny, made_up_pairs(8, seed=1), "bert")
    assert fresh.history[0].loss == pytest.approx(one.history[0].loss, abs=1e-12)
    assert one.history[-1].loss != pytest.approx(one.history[0].loss)


def test_reset_returns_to_the_loaded_head_and_unseen_batch_is_scored(tiny):
    lesson = start_lesson(tiny, made_up_pairs(8, seed=4), "bert", unseen_pairs=lambda: made_up_pairs(8, seed=5))
    start = lesson.history[0].loss
    lesson.step(0.5)
    lesson.step(0.5)
    assert [r.step for r in lesson.history] == [0, 1, 2]
    assert all(r.unseen_loss is not None for r in lesson.history)
    assert lesson.changes().shape == (8,)
    assert lesson.pairs_worse() == int((lesson.changes() > 0).sum())
    assert lesson.generalised() == (lesson.history[-1].unseen_loss < lesson.history[0].unseen_loss)
    report = lesson.report("none")
    assert report.mean_loss == pytest.approx(lesson.history[-1].loss, abs=1e-9)
    assert report.total_loss == pytest.approx(8 * report.mean_loss)
    assert report.accuracy == np.mean([p[t] > 0.5 for p, t in zip(report.probabilities, report.labels)])
    lesson.reset()
    assert len(lesson.history) == 1 and lesson.history[0].loss == pytest.approx(start, abs=1e-9)


def test_copy_head_is_a_copy(tiny):
    head = copy_head(tiny, "bert")
    assert head.classifier.weight.data_ptr() != tiny.model.cls.seq_relationship.weight.data_ptr()
    assert torch.equal(head.classifier.weight, tiny.model.cls.seq_relationship.weight)


@pytest.mark.parametrize("k", [0, MAX_K + 1, -3, 2.5, True])
def test_k_out_of_range_is_refused(k):
    with pytest.raises(BatchInputError, match="batch size k"):
        check_k(k)


def test_examples_are_a_seeded_shuffle():
    first, again, other = example_pairs(8, 1), example_pairs(8, 1), example_pairs(8, 2)
    assert first == again and first != other
    with pytest.raises(BatchInputError, match="classroom examples"):
        example_pairs(MAX_K, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a,b,label\nOne.,Two.,2\n", "label must be 0"),
        (b'{"a": "One.", "b": "Two.", "label": "yes"}\n', "label must be 0"),
        (b"a,b\nOne.,Two.\n", "missing the column"),
        (b"a,b,label\n,Two.,0\n", "non-empty"),
        (b"a,b,label\n" + b"One.,Two.,0\n" * (MAX_K + 1), "1 to 64 pairs"),
    ],
)
def test_bad_files_give_a_clear_message(data, message):
    with pytest.raises(BatchInputError, match=message):
        file_pairs(data, "upload.csv")


def test_a_good_file_is_the_batch():
    pairs = file_pairs(b'a,b,label\nThe sun rose.,Birds sang.,0\nI like tea.,"Volcanoes, lava.",1\n')
    assert [p.label for p in pairs] == [0, 1] and pairs[1].b == "Volcanoes, lava."


def test_the_unseen_batch_is_sampled_like_the_first_at_its_max_length(bundled):
    # Page and CLI draw it the same way; at max length 32 its pairs must fit 32 tokens, not be cut from 128.
    from explorer.batch import sampled_pairs, unseen_draw, unseen_seed

    draw = unseen_draw(bundled.tokenizer, 6, 3, 0.5, 32)
    unseen = draw()
    assert unseen == sampled_pairs(bundled.tokenizer, 6, unseen_seed(3), 0.5, 32)
    assert unseen != sampled_pairs(bundled.tokenizer, 6, 3, 0.5, 32)
    batch = encode_batch(bundled, unseen, max_length=32)
    assert batch.inputs["input_ids"].shape[1] <= 32
    assert all(len(bundled.tokenizer(p.a, p.b)["input_ids"]) <= 32 for p in unseen)
