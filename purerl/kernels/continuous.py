"""Kernels of off-policy continuous control: DDPG, TD3 and SAC.

One transition or one sample each (callers ``vmap``). Conventions as in ``value.py``:
``discount`` is γ, or 0 where the transition *terminated* the episode; at a time-limit
truncation the caller evaluates the next-state quantities at the final observation (before
the reset) with the full γ, so the target bootstraps there. Critic ensembles are ``[E]``
values, one per critic. Targets are wrapped in ``stop_gradient``.

References: Silver et al., "Deterministic Policy Gradient Algorithms" (2014); Lillicrap et
al., "Continuous control with deep RL" (DDPG, 2016); Fujimoto et al., "Addressing Function
Approximation Error in Actor-Critic Methods" (TD3, 2018); Haarnoja et al., "Soft
Actor-Critic Algorithms and Applications" (2018).
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp

Array = chex.Array
sg = jax.lax.stop_gradient


def deterministic_policy_loss(q: Array) -> Array:
    """−Q(s, μ(s)) for one state: its gradient through μ is the deterministic policy
    gradient ∇_a Q(s, a)|_{a=μ(s)} ∇_θ μ(s) (the critic's parameters are not updated by it)."""
    chex.assert_rank(q, 0)
    return -q


def clipped_double_q_target(r: Array, discount: Array, q_next: Array) -> Array:
    """y = r + discount · min_e Q'_e(s', a') over an ensemble ``q_next`` ``[E]`` (TD3's
    clipped double Q; with E = 1 the DDPG target r + discount · Q'(s', a'))."""
    chex.assert_rank([r, discount, q_next], [0, 0, 1])
    return sg(r + discount * jnp.min(q_next))


def soft_q_target(
    r: Array, discount: Array, q_next: Array, log_prob_next: Array, alpha: Array
) -> Array:
    """y = r + discount · (min_e Q'_e(s', a') − α log π(a'|s')), a' ~ π(·|s') (SAC)."""
    chex.assert_rank([r, discount, q_next, log_prob_next], [0, 0, 1, 0])
    return sg(r + discount * (jnp.min(q_next) - alpha * log_prob_next))


def smoothed_target_action(
    action: Array, noise: Array, noise_clip: Array, low: Array, high: Array
) -> Array:
    """TD3's target policy smoothing: clip(μ'(s') + clip(ε, −c, c), low, high) with
    ε = ``noise`` ~ N(0, σ²) drawn by the caller. ``action``, ``noise``: ``[D]``."""
    chex.assert_rank([action, noise], 1)
    chex.assert_equal_shape([action, noise])
    return jnp.clip(action + jnp.clip(noise, -noise_clip, noise_clip), low, high)


def target_entropy(action_dim: int, scale: Array = 1.0) -> Array:
    """H̄ = −scale · |A| (SAC's heuristic target entropy; scale 1 in the paper)."""
    return -scale * action_dim


def temperature_loss(log_alpha: Array, log_prob: Array, target: Array) -> Array:
    """L(α) = −α (log π(a|s) + H̄) for one sampled action, α = exp(``log_alpha``).

    Its gradient in log α is −α (log π + H̄): gradient descent raises α when the policy's
    entropy −log π is below the target H̄ and lowers it when above."""
    chex.assert_rank([log_alpha, log_prob], 0)
    return -jnp.exp(log_alpha) * sg(log_prob + target)


def polyak(online: Any, target: Any, tau: Array) -> Any:
    """θ⁻ ← τ θ + (1 − τ) θ⁻ for every array leaf of two pytrees of the same structure
    (τ = 1 copies, τ = 0 keeps). ``tau`` may be traced (a swept hyperparameter)."""
    return jax.tree.map(lambda o, t: tau * o + (1.0 - tau) * t, online, target)


def soft_policy_loss(log_prob: Array, q: Array, alpha: Array) -> Array:
    """α log π(a|s) − min_e Q_e(s, a) for one reparameterized sample a ~ π(·|s) (SAC's actor
    loss; ``q`` ``[E]``, the critics are not updated by it)."""
    chex.assert_rank([log_prob, q], [0, 1])
    return alpha * log_prob - jnp.min(q)
