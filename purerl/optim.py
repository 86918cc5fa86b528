"""The optimizer every gradient-based algorithm uses — global-norm clipping, then Adam, with
an optional linear decay of the learning rate to zero — and one gradient step of it."""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
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


def linear_schedule(start: jax.Array, end: jax.Array, t: jax.Array, duration) -> jax.Array:
    """start + clip(t / duration, 0, 1) · (end − start): ``start`` at t = 0, ``end`` from
    t = ``duration`` on (ε of ε-greedy exploration, β of prioritized replay)."""
    return start + jnp.clip(t / duration, 0.0, 1.0) * (end - start)


class Learner(NamedTuple):
    """A model (any pytree; an equinox module's non-array fields are left alone) and its
    optimizer state: the carry of a sequence of gradient steps."""

    model: Any
    opt_state: Any


def apply(
    tx: optax.GradientTransformation,
    learner: Learner,
    grads: Any,
    active: jax.Array | None = None,
) -> Learner:
    """One optimizer step: ``tx``'s update of ``grads`` added to the model.

    ``active`` (a traced bool, e.g. "learning has started") switches the step off where it
    is False: the model and the optimizer state stay as they were. Under ``vmap`` a
    ``lax.cond`` would compute the step anyway, so it is computed and masked.
    """
    params = eqx.filter(learner.model, eqx.is_array)
    updates, opt_state = tx.update(grads, learner.opt_state, params)
    if active is not None:
        updates = jax.tree.map(lambda u: jnp.where(active, u, 0.0), updates)
        opt_state = jax.tree.map(lambda n, o: jnp.where(active, n, o), opt_state, learner.opt_state)
    return Learner(eqx.apply_updates(learner.model, updates), opt_state)
