"""Property tests of the pairs-file reader (CSV, JSON lines, JSON) shared by `eval` and the Evaluate tab.

The property: any bytes give either pairs that the rest of the app can use, or an EvalFileError whose
message is one short line; a well-formed file gives back exactly the rows written into it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Literal

import pytest
from fuzz_settings import budget
from hypothesis import example, given
from hypothesis import strategies as st

from explorer.encoding import MAX_SENTENCE_CHARS
from explorer.evaluate import EvalFileError, LabelledPair, parse_pairs

CsvQuoting = Literal[0, 1, 2, 3]  # csv.QUOTE_MINIMAL, QUOTE_ALL, QUOTE_NONNUMERIC, QUOTE_NONE

# What a sentence cell of a well-formed file holds: any character but NUL (binary) and lone surrogates (not
# UTF-8), some text after strip().
sentence = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), min_size=1, max_size=40).filter(
    str.strip
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
label_cell = st.sampled_from(["0", "1", " 1 ", "0\t", "2", "-1", "IsNext", "", "1.0", "nan", "x" * 300])


def parsed_or_refused(data: bytes, name: str = "pairs.csv") -> list[LabelledPair] | None:
    """The property every input must meet; returns the pairs, or None when the file was refused."""
    try:
        pairs = parse_pairs(data, name)
    except EvalFileError as err:
        message = str(err)
        assert message.strip() and "\n" not in message and len(message) < 400, message
        return None
    assert pairs
    for pair in pairs:
        for text in (pair.a, pair.b):
            assert isinstance(text, str) and text.strip() and len(text) <= MAX_SENTENCE_CHARS
        assert type(pair.label) is int and pair.label in (0, 1)
    return pairs


def csv_bytes(rows: list[list[str]], header: list[str], quoting: CsvQuoting, newline: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=quoting, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate makes bytes that are not UTF-8


# The worst inputs the fuzzer found, kept as regression cases (see bench/results/fuzzing.md).
LONG_FIELD_CSV = b'a,b,label\n"' + b"x" * 200_000 + b'",b,0\n'
WORST_FILES = [
    LONG_FIELD_CSV,
    b'{"a": "x", "b": "y", "label": ' + b"1" * 5000 + b"}\n",
    b'{"a": ' + b"[" * 100_000 + b"}\n",
    '{"a": "x\u2028y", "b": "z", "label": 0}\n'.encode(),
    b'[{"a": "x", "b": "y", "label": 1}]',
    b"a,b,label\nx,y," + b"9" * 1000 + b"\n",
    b"a,b,label\n0,0\r,0\n",
]


@budget(75)
@given(st.binary(max_size=600))
@example(LONG_FIELD_CSV)
def test_any_bytes_give_pairs_or_a_clear_error(data):
    parsed_or_refused(data)


@budget(75)
@given(st.text(max_size=300))
def test_any_text_gives_pairs_or_a_clear_error(text):
    parsed_or_refused(text.encode("utf-8", "surrogatepass"))


@budget(50)
@given(
    st.lists(st.lists(st.one_of(sentence, label_cell, st.text(max_size=5)), max_size=5), max_size=5),
    st.permutations(["a", "b", "label"]) | st.lists(st.sampled_from(["a", "b", "label", " A ", "x", ""]), max_size=4),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_csv_files_with_any_cells_and_headers(rows, header, quoting, newline):
    parsed_or_refused(csv_bytes(rows, header, quoting, newline))


@budget(50)
@given(
    st.lists(st.tuples(sentence, sentence, st.sampled_from([0, 1]))),
    st.sampled_from([(csv.QUOTE_MINIMAL, "\r\n"), (csv.QUOTE_ALL, "\n")]),
)
def test_well_formed_csv_reads_back_exactly(rows, dialect):
    # RFC 4180: a field holding a CR or LF is quoted (Python's writer quotes a lone CR only when the line
    # terminator holds one; an unquoted CR inside a field is refused with a message, see below).
    data = csv_bytes([[a, b, str(y)] for a, b, y in rows], ["a", "b", "label"], *dialect)
    pairs = parsed_or_refused(data)
    if not rows:
        assert pairs is None
    else:
        assert pairs == [LabelledPair(a, b, y) for a, b, y in rows]


@budget(50)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["a", "b", "label", "x"]), json_value | sentence, max_size=4) | json_value,
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
    st.booleans(),
)
def test_json_lines_and_json_with_any_values(objects, ensure_ascii, as_list):
    if as_list:
        data = json.dumps(objects, ensure_ascii=ensure_ascii)
    else:
        data = "\n".join(json.dumps(obj, ensure_ascii=ensure_ascii) for obj in objects)
    parsed_or_refused(data.encode("utf-8", "surrogatepass"))


@budget(50)
@given(
    st.lists(st.tuples(sentence, sentence, st.sampled_from([0, 1, "0", "1", 1.0])), min_size=1, max_size=5),
    st.booleans(),
    st.booleans(),
)
def test_well_formed_json_lines_and_json_read_back_exactly(rows, ensure_ascii, as_list):
    objects = [{"a": a, "b": b, "label": y} for a, b, y in rows]
    if as_list:
        text = json.dumps(objects, ensure_ascii=ensure_ascii, indent=1)
    else:
        text = "\r\n".join(json.dumps(obj, ensure_ascii=ensure_ascii) for obj in objects)
    pairs = parsed_or_refused(text.encode("utf-8", "surrogatepass"))
    assert pairs == [LabelledPair(a, b, int(y)) for a, b, y in rows]


def test_the_worst_files_are_refused_or_read():
    expected = [
        "longer than 100,000 characters",
        "too many digits",
        "nested too deeply",
        None,
        None,
        "label must",
        "not in double quotes",
    ]
    for data, words in zip(WORST_FILES, expected):
        pairs = parsed_or_refused(data, "worst.csv")
        if words is None:
            assert pairs
        else:
            with pytest.raises(EvalFileError) as refused:
                parse_pairs(data, "worst.csv")
            assert words in str(refused.value)
