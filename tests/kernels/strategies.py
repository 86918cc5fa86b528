"""Hypothesis strategies for trajectories with terminations and truncations."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st


class Trajectory(NamedTuple):
    r_t: np.ndarray
    discount_t: np.ndarray  # gamma, or 0 where terminated
    v_tm1: np.ndarray
    v_t: np.ndarray
    truncated_t: np.ndarray
    gamma: float


@st.composite
def trajectories(
    draw, min_len: int = 1, max_len: int = 16, truncation: bool = True, consistent: bool = False
) -> Trajectory:
    """A random trajectory. ``consistent``: v_t[t] = v_tm1[t+1] wherever the episode continues."""
    T = draw(st.integers(min_len, max_len))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]))
    p_term = draw(st.sampled_from([0.0, 0.1, 0.3]))
    p_trunc = draw(st.sampled_from([0.0, 0.1, 0.3])) if truncation else 0.0
    terminated = rng.random(T) < p_term
    truncated = (rng.random(T) < p_trunc) & ~terminated
    r = rng.normal(size=T).astype(np.float32)
    v_tm1 = rng.normal(size=T).astype(np.float32)
    v_t = rng.normal(size=T).astype(np.float32)
    if consistent:
        cont = ~(terminated | truncated)
        v_t[:-1] = np.where(cont[:-1], v_tm1[1:], v_t[:-1])
    discount = np.where(terminated, 0.0, gamma).astype(np.float32)
    return Trajectory(r, discount, v_tm1, v_t, truncated, gamma)


lambdas = st.sampled_from([0.0, 0.3, 0.5, 0.95, 1.0])
