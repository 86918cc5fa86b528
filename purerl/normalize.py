"""Running observation normalization as an optax-style ``(init, update, apply)`` triple.

Mean and variance over every observation seen so far, merged batch by batch with the
parallel-variance formula (Chan, Golub & LeVeque, 1979); ``apply`` standardizes and clips.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class NormalizerState(NamedTuple):
    mean: jax.Array  # [*obs_shape]
    var: jax.Array  # [*obs_shape]
    count: jax.Array  # scalar float


def init(obs_shape: tuple[int, ...]) -> NormalizerState:
    return NormalizerState(
        jnp.zeros(obs_shape, jnp.float32), jnp.ones(obs_shape, jnp.float32), jnp.array(1e-4)
    )


def update(state: NormalizerState, batch: jax.Array) -> NormalizerState:
    """Merge a batch ``[B, *obs_shape]`` into the running moments."""
    batch = batch.reshape(-1, *state.mean.shape)
    n = batch.shape[0]
    b_mean = jnp.mean(batch, axis=0)
    b_var = jnp.var(batch, axis=0)
    total = state.count + n
    delta = b_mean - state.mean
    mean = state.mean + delta * n / total
    m2 = state.var * state.count + b_var * n + jnp.square(delta) * state.count * n / total
    return NormalizerState(mean, m2 / total, total)


def apply(state: NormalizerState, obs: jax.Array, clip: float = 10.0) -> jax.Array:
    """(obs − μ) / √(σ² + 1e-8), clipped to [−clip, clip]; ``obs`` may have leading batch axes."""
    lead = (1,) * (obs.ndim - state.mean.ndim)
    mean, var = (
        state.mean.reshape(lead + state.mean.shape),
        state.var.reshape(lead + state.var.shape),
    )
    return jnp.clip((obs - mean) / jnp.sqrt(var + 1e-8), -clip, clip)
