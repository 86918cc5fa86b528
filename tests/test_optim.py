"""``purerl.optim.linear_schedule``: the linear annealing of ε-greedy exploration and of
prioritized replay's β."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from purerl import optim

VALUE = st.floats(-10.0, 10.0, width=32)


@given(VALUE, VALUE, st.floats(-5.0, 2_000.0, width=32), st.floats(1.0, 1_000.0, width=32))
def test_linear_schedule_goes_from_start_to_end_over_its_duration_then_holds(
    start, end, t, duration
):
    value = float(
        optim.linear_schedule(np.float32(start), np.float32(end), np.float32(t), duration)
    )
    expected = start + min(max(t / duration, 0.0), 1.0) * (end - start)  # plain Python
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5)
    assert min(start, end) - 1e-5 <= value <= max(start, end) + 1e-5
    if t <= 0:
        assert value == np.float32(start)
    if t >= duration:
        np.testing.assert_allclose(value, end, rtol=1e-6, atol=1e-6)
