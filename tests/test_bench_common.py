"""bench/common.py's helpers that the side-by-side benchmarks' verdicts rest on: the metrics
digest behind "same bits", and the child process each setting is measured in."""

import numpy as np
import pytest

from tests.bench_modules import load

common = load("common")


def test_metrics_digest_ignores_the_dicts_order_and_sees_one_bit_a_name_or_a_shape():
    a = {"loss": np.linspace(0, 1, 7, dtype=np.float32), "steps": np.arange(7, dtype=np.int32)}
    same = {"steps": a["steps"].copy(), "loss": a["loss"].copy()}
    assert common.metrics_digest(a) == common.metrics_digest(same)
    flipped = a["loss"].copy()
    flipped.view(np.uint32)[3] ^= 1  # the last bit of one float
    assert common.metrics_digest(a) != common.metrics_digest({**a, "loss": flipped})
    renamed = {"loss2": a["loss"], "steps": a["steps"]}  # the same bytes in the same order
    assert common.metrics_digest(a) != common.metrics_digest(renamed)
    reshaped = {**a, "steps": a["steps"][:6].reshape(2, 3)}
    shortened = {**a, "steps": a["steps"][:6]}
    assert common.metrics_digest(reshaped) != common.metrics_digest(shortened)


def test_run_child_returns_the_last_json_line_under_the_flags_it_was_given():
    code = "import os, json; print('noise'); print(json.dumps({'flags': os.environ['XLA_FLAGS']}))"
    assert common.run_child(["-c", code], "--xla_a=1 --xla_b") == {"flags": "--xla_a=1 --xla_b"}


def test_a_failing_child_stops_with_its_exit_status_and_error_output():
    code = "import sys; sys.stderr.write('the reason\\n'); sys.exit(3)"
    with pytest.raises(SystemExit, match=r"exit 3(.|\n)*the reason"):
        common.run_child(["-c", code], "")
