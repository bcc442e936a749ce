"""The curated classroom pairs."""

from collections import Counter

from explorer.examples import example_by_id, load_examples
from explorer.labels import IS_NEXT, NOT_NEXT


def test_at_least_thirty_pairs_with_both_labels_and_notes():
    examples = load_examples()
    assert len(examples) >= 30
    labels = Counter(e.label for e in examples)
    assert labels[IS_NEXT] >= 10 and labels[NOT_NEXT] >= 10
    assert all(e.a.strip() and e.b.strip() and len(e.note) > 15 for e in examples)
    assert len({e.id for e in examples}) == len(examples)
    assert len({e.topic for e in examples}) >= 10


def test_tricky_pairs_cover_both_kinds():
    tricky = [e for e in load_examples() if e.tricky]
    # same topic but not consecutive, and consecutive across a topic shift
    assert sum(e.label == NOT_NEXT for e in tricky) >= 3
    assert sum(e.label == IS_NEXT for e in tricky) >= 3


def test_lookup_by_id():
    assert example_by_id("shift-1").label == IS_NEXT
    assert example_by_id("garden-2").label == NOT_NEXT
