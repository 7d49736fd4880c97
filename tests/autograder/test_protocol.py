"""The wire format between the grader and the kernel: values, inputs files, answer messages.

Everything the kernel sends is hostile input to the grader: it must decode to a value or be
refused with ``ValueFormatError``, never allocate more than its budget, never unpickle.
"""

import base64
import json
import resource

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.compare import default_compare
from autograder.kernel.protocol import (Outcome, ValueFormatError, answer_message, decode, encode, inputs_path,
                                        read_answer_message, read_inputs, write_inputs)

values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.builds(lambda s, seed: np.random.default_rng(seed).standard_normal(s),
                st.lists(st.integers(0, 3), max_size=3).map(tuple), st.integers(0, 9))
    | st.sampled_from([np.int64(3), np.float32(2.5), np.array(7, dtype=np.int16), np.array(["ab", "c"]),
                       np.zeros((2, 0, 3), dtype=np.uint8), np.array([1 + 2j])]),
    lambda inner: st.tuples(inner, inner), max_leaves=6)


@settings(max_examples=80, deadline=None)
@given(v=values)
def test_values_round_trip_through_json(v):
    back = decode(json.loads(json.dumps(encode(v))))
    ok, msg = default_compare(back, v, rtol=0, atol=0) if v is not None else (back is None, "")
    assert ok, msg


@pytest.mark.parametrize("bad", [{"a": 1}, np.array([{}], dtype=object), object(), [[1, 2], [3]],
                                 np.zeros(2, dtype=[("a", "f8")]), tuple(range(100))])
def test_unsupported_values_are_refused(bad):
    with pytest.raises(ValueFormatError):
        encode(bad)


def _array_doc(shape, dtype="<f8", data=b""):
    return {"t": "array", "dtype": dtype, "shape": list(shape), "data": base64.b64encode(data).decode()}


@pytest.mark.parametrize("doc, why", [
    (_array_doc((10**9,)), "over the"),                 # a header claiming 8 GB, with no data
    (_array_doc((2**40 - 1, 2**40 - 1)), "over the"),
    (_array_doc((3,), data=b"\0" * 16), "does not match"),
    (_array_doc((2,), dtype="|O", data=b"\0" * 16), "not allowed"),
    (_array_doc((2,), dtype="V8", data=b"\0" * 16), "not allowed"),
    (_array_doc((2,), dtype="nonsense"), "unknown dtype"),
    ({"t": "array", "dtype": "<f8", "shape": [-1], "data": ""}, "malformed shape"),
    ({"t": "array", "dtype": "<f8", "shape": [1], "data": "!!!!"}, "malformed"),
    ({"t": "pickle", "v": "gASV"}, "unknown value tag"),
    ({"t": "int", "v": 3}, "malformed int"),
    ({"t": "tuple", "items": [{"t": "none"}] * 1000}, "malformed tuple"),
    ("just a string", "malformed value"),
])
def test_hostile_documents_are_refused_before_allocating(doc, why):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueFormatError, match=why):
        decode(doc, max_bytes=2**20)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: no big allocation


def test_tuples_share_one_budget():
    doc = encode((np.zeros(1000), np.zeros(1000)))
    assert len(decode(doc, max_bytes=16_000)) == 2
    with pytest.raises(ValueFormatError, match="over the"):
        decode(doc, max_bytes=12_000)


def test_deep_nesting_is_refused():
    doc = {"t": "none"}
    for _ in range(50):
        doc = {"t": "tuple", "items": [doc]}
    with pytest.raises(ValueFormatError):
        decode(doc)


@settings(max_examples=200, deadline=None)
@given(doc=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                            st.sampled_from(["t", "v", "items", "dtype", "shape", "data", "key"]), inner,
                            max_size=5), max_leaves=12))
def test_any_json_decodes_or_is_refused(doc):
    try:
        decode(doc)
    except ValueFormatError:
        pass


def test_inputs_files_round_trip_and_name_their_check(tmp_path):
    cases = [dict(x=np.arange(6.0).reshape(2, 3), stride=2, mode="same", kernel=(3, 5))]
    path = write_inputs(tmp_path, "a1", "shapes", cases)
    assert path == inputs_path(tmp_path, "shapes") and path.stat().st_mode & 0o777 == 0o644
    (back,) = read_inputs(tmp_path, "a1", "shapes")
    assert back["stride"] == 2 and back["mode"] == "same" and back["kernel"] == (3, 5)
    assert np.array_equal(back["x"], cases[0]["x"])
    with pytest.raises(RuntimeError, match="another check"):
        read_inputs(tmp_path, "a2", "shapes")
    with pytest.raises(ValueError, match="bad assignment or check name"):
        inputs_path(tmp_path, "../../etc/passwd")


def test_answer_messages_are_accepted_only_for_the_open_checks():
    good = answer_message("a1", "relu", 1, Outcome(value=np.ones(3)))
    check, index, outcome = read_answer_message(json.loads(json.dumps(good)), "a1", {"relu": 3}, 2**20)
    assert (check, index) == ("relu", 1) and np.array_equal(outcome.value, np.ones(3))
    for doc, open_checks in [(good, {"pool": 3}), (good, {"relu": 1}), ({**good, "aid": "a2"}, {"relu": 3}),
                             ({**good, "case": True}, {"relu": 3}), ({**good, "case": -1}, {"relu": 3}),
                             ("not a dict", {"relu": 3}), ({**good, "raised": "x"}, {"relu": 3})]:
        with pytest.raises(ValueFormatError):
            read_answer_message(doc, "a1", open_checks, 2**20)
    raised = answer_message("a1", "relu", 0, Outcome(raised=("builtins.ValueError",), message="x" * 5000))
    _, _, outcome = read_answer_message(raised, "a1", {"relu": 3}, 2**20)
    assert outcome.raised == ("builtins.ValueError",) and len(outcome.message) <= 300


def test_an_oversized_answer_is_a_wrong_answer_not_an_error():
    doc = answer_message("a1", "relu", 0, Outcome(value=np.zeros(10_000)))
    _, _, outcome = read_answer_message(doc, "a1", {"relu": 1}, max_bytes=1000)
    assert outcome.raised == ("autograder.BadAnswer",) and "budget" in outcome.message
