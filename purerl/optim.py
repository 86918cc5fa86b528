"""The optimizer every gradient-based algorithm uses: global-norm clipping, then Adam, with an
optional linear decay of the learning rate to zero."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def clipped_adam(
    lr: jax.Array,
    max_grad_norm: jax.Array,
    anneal_steps: int | None = None,
    every: int = 1,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """clip_by_global_norm(max_grad_norm) → Adam → step size ``lr``.

    With ``anneal_steps`` the step size falls linearly from ``lr`` to 0 over that many
    optimizer steps, held constant within each block of ``every`` steps (PPO: one block per
    update). ``lr`` and ``max_grad_norm`` may be traced (swept) values.
    """

    def learning_rate(count):
        if anneal_steps is None:
            return lr
        return lr * jnp.maximum(1.0 - (count // every) / (anneal_steps // every), 0.0)

    return optax.chain(
        optax.clip_by_global_norm(max_grad_norm),
        optax.scale_by_adam(eps=eps),
        optax.scale_by_learning_rate(learning_rate),
    )
