"""Action-value targets, TD errors, regression losses and dueling aggregation.

Every function handles one transition (callers ``vmap`` over a batch). Conventions as in
``returns.py``: ``r_t`` is the reward of the transition, ``discount_t`` is γ or 0 where
the transition *terminated* the episode. At a time-limit truncation the caller passes the
Q-values of the final observation (before the reset) as ``q_t`` with the full γ, so the
target bootstraps there; termination alone zeroes the bootstrap. Targets are wrapped in
``stop_gradient``; ``q_tm1`` is the only input gradients flow through.

References: Watkins & Dayan (1992) Q-learning; Rummery & Niranjan (1994) SARSA;
van Seijen et al. (2009) expected SARSA; van Hasselt et al. (2016) Double DQN;
Wang et al. (2016) Dueling networks; Huber (1964).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

Array = chex.Array
sg = jax.lax.stop_gradient


def _check_step(r_t: Array, discount_t: Array, *q: Array) -> None:
    chex.assert_rank([r_t, discount_t], 0)
    chex.assert_rank(list(q), 1)


def q_learning_target(r_t: Array, discount_t: Array, q_t: Array) -> Array:
    """y = r_t + discount_t · max_a q_t[a].

    Args: ``r_t``, ``discount_t`` scalars; ``q_t`` ``[A]`` values of the next state.
    """
    _check_step(r_t, discount_t, q_t)
    return sg(r_t + discount_t * jnp.max(q_t))


def double_q_learning_target(
    r_t: Array, discount_t: Array, q_t_value: Array, q_t_selector: Array
) -> Array:
    """y = r_t + discount_t · q_t_value[argmax_a q_t_selector[a]]   (Double Q-learning).

    In Double DQN ``q_t_selector`` comes from the online network and ``q_t_value`` from the
    target network; with the same values for both it is ``q_learning_target``.
    """
    _check_step(r_t, discount_t, q_t_value, q_t_selector)
    chex.assert_equal_shape([q_t_value, q_t_selector])
    return sg(r_t + discount_t * q_t_value[jnp.argmax(q_t_selector)])


def sarsa_target(r_t: Array, discount_t: Array, q_t: Array, a_t: Array) -> Array:
    """y = r_t + discount_t · q_t[a_t], with a_t the action actually taken next."""
    _check_step(r_t, discount_t, q_t)
    chex.assert_rank(a_t, 0)
    return sg(r_t + discount_t * q_t[a_t])


def expected_sarsa_target(r_t: Array, discount_t: Array, q_t: Array, probs_t: Array) -> Array:
    """y = r_t + discount_t · Σ_a π(a|s_{t+1}) q_t[a]."""
    _check_step(r_t, discount_t, q_t, probs_t)
    chex.assert_equal_shape([q_t, probs_t])
    return sg(r_t + discount_t * jnp.sum(probs_t * q_t))


def n_step_accumulate(r_t: Array, discount_t: Array, cut_t: Array) -> tuple[Array, Array, Array]:
    """Fold the ``n`` transitions after step t into one n-step transition.

    Returns ``(G, discount, k)`` with G = Σ_{i<k} (Π_{j<i} discount_j) r_i,
    discount = Π_{i<k} discount_i and k the number of transitions used: ``n``, or fewer when
    the episode ended (``cut_t[i]``: terminated or truncated after transition i) first.
    The n-step target is then ``q_learning_target(G, discount, q)`` with q the values of
    the state reached after those k transitions. With n = 1 it is ``(r_t[0], discount_t[0], 1)``.

    Args: ``r_t``, ``discount_t``, ``cut_t``: ``[n]``.
    """
    chex.assert_rank([r_t, discount_t, cut_t], 1)
    chex.assert_equal_shape([r_t, discount_t, cut_t])
    cut = cut_t.astype(bool)
    # Transition i is used when no earlier transition ended the episode.
    ended_before = jnp.cumsum(cut) - cut.astype(jnp.int32) > 0
    used = ~ended_before
    d = jnp.where(used, discount_t, 1.0)
    scale = jnp.cumprod(jnp.concatenate([jnp.ones(1, d.dtype), d[:-1]]))
    g = jnp.sum(jnp.where(used, scale * r_t, 0.0))
    return sg(g), sg(jnp.prod(d)), jnp.sum(used.astype(jnp.int32))


def q_td_error(q_tm1: Array, a_tm1: Array, target: Array) -> Array:
    """δ = y − q_tm1[a_tm1] (gradients flow through q_tm1 only)."""
    chex.assert_rank(q_tm1, 1)
    chex.assert_rank([a_tm1, target], 0)
    return sg(target) - q_tm1[a_tm1]


def squared_loss(td: Array, weight: Array | None = None) -> Array:
    """½ ω δ² (ω = 1 without importance weights)."""
    loss = 0.5 * jnp.square(td)
    return loss if weight is None else sg(weight) * loss


def huber_loss(td: Array, delta: float | Array = 1.0, weight: Array | None = None) -> Array:
    """ω · (½ δ² where |δ| ≤ Δ, else Δ (|δ| − ½ Δ)): quadratic inside, linear outside."""
    abs_td = jnp.abs(td)
    quadratic = jnp.minimum(abs_td, delta)
    loss = 0.5 * jnp.square(quadratic) + delta * (abs_td - quadratic)
    return loss if weight is None else sg(weight) * loss


AGGREGATIONS = ("mean", "max")


def dueling(value: Array, advantages: Array, aggregation: str = "mean") -> Array:
    """Q(s, a) = V(s) + A(s, a) − agg_a' A(s, a'), agg = mean or max (Wang et al. 2016).

    With ``"max"`` the greedy action's value is V; with ``"mean"`` the advantages of Q
    average to zero. Args: ``value`` scalar, ``advantages`` ``[A]``.
    """
    chex.assert_rank(value, 0)
    chex.assert_rank(advantages, 1)
    if aggregation == "mean":
        baseline = jnp.mean(advantages)
    elif aggregation == "max":
        baseline = jnp.max(advantages)
    else:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    return value + advantages - baseline
