"""Policy-gradient, trust-region-penalty, entropy and value losses.

Per-sample kernels over ``[B]`` arrays (one trajectory or one minibatch, flattened); they
return per-sample terms and leave the reduction (usually a mean) to the algorithm. Losses
are to be minimized; ``*_objective`` functions are to be maximized.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

Array = chex.Array


def policy_gradient_loss(logp_t: Array, adv_t: Array) -> Array:
    """Likelihood-ratio (REINFORCE) loss −log π(a_t|s_t) · ψ_t per sample.

    Its gradient is −∇log π(a_t|s_t) ψ_t, whose mean is an unbiased estimate of −∇J for any
    ψ_t in the policy-gradient family (return, reward-to-go, advantage, TD residual).

    Args:
      logp_t: ``[B]`` log-probabilities of the taken actions under the current policy.
      adv_t: ``[B]`` weights ψ_t (treated as constants).

    Reference: Williams, "Simple statistical gradient-following algorithms" (1992).
    """
    chex.assert_rank([logp_t, adv_t], 1)
    chex.assert_equal_shape([logp_t, adv_t])
    return -logp_t * jax.lax.stop_gradient(adv_t)


def importance_ratio(logp_t: Array, logp_old_t: Array) -> Array:
    """r_t(θ) = π_θ(a_t|s_t) / π_old(a_t|s_t) = exp(log π_θ − log π_old) per sample."""
    chex.assert_rank([logp_t, logp_old_t], 1)
    chex.assert_equal_shape([logp_t, logp_old_t])
    return jnp.exp(logp_t - jax.lax.stop_gradient(logp_old_t))


def surrogate_objective(ratio_t: Array, adv_t: Array) -> Array:
    """Unclipped importance-sampled surrogate L^CPI_t = r_t Â_t (to maximize).

    Reference: Kakade & Langford (2002); Schulman et al., "Trust Region Policy
    Optimization" (2015), eq. 14.
    """
    chex.assert_rank([ratio_t, adv_t], 1)
    chex.assert_equal_shape([ratio_t, adv_t])
    return ratio_t * jax.lax.stop_gradient(adv_t)


def clipped_surrogate_objective(
    ratio_t: Array,
    adv_t: Array,
    epsilon: Array | float,
    epsilon_high: Array | float | None = None,
) -> Array:
    """PPO's clipped surrogate L^CLIP_t = min(r_t Â_t, clip(r_t, 1 − ε, 1 + ε_high) Â_t).

    A pessimistic bound on the unclipped surrogate: L^CLIP ≤ r Â, with equality at r = 1.
    Its gradient vanishes once r leaves [1 − ε, 1 + ε_high] on the side Â pushes it to.
    ε_high defaults to ε (PPO's symmetric range); a larger ε_high lets the probability of
    good, unlikely tokens grow further per update ("clip-higher", DAPO).

    Args:
      ratio_t: ``[B]`` importance ratios.
      adv_t: ``[B]`` advantages (constants).
      epsilon: scalar clip range ε > 0 (may be traced); ``inf`` removes the clipping.
      epsilon_high: optional scalar upper clip range (may be traced).

    Reference: Schulman et al., "Proximal Policy Optimization Algorithms" (2017), eq. 7;
    Yu et al., "DAPO: An Open-Source LLM Reinforcement Learning System at Scale" (2025), §3.1.
    """
    chex.assert_rank([ratio_t, adv_t], 1)
    chex.assert_equal_shape([ratio_t, adv_t])
    epsilon_high = epsilon if epsilon_high is None else epsilon_high
    chex.assert_rank([jnp.asarray(epsilon), jnp.asarray(epsilon_high)], 0)
    adv_t = jax.lax.stop_gradient(adv_t)
    clipped = jnp.clip(ratio_t, 1.0 - epsilon, 1.0 + epsilon_high)
    return jnp.minimum(ratio_t * adv_t, clipped * adv_t)


def kl_penalized_objective(ratio_t: Array, adv_t: Array, kl_t: Array, beta: Array | float) -> Array:
    """PPO's KL-penalized surrogate L^KLPEN_t = r_t Â_t − β · KL[π_old(·|s_t), π_θ(·|s_t)].

    β = 0 gives the unclipped surrogate.

    Args:
      ratio_t, adv_t: ``[B]``.
      kl_t: ``[B]`` per-state KL divergences from the old policy to the current one.
      beta: scalar penalty coefficient β ≥ 0 (may be traced).

    Reference: Schulman et al. (2017), eq. 8.
    """
    chex.assert_rank(kl_t, 1)
    chex.assert_equal_shape([ratio_t, kl_t])
    chex.assert_rank(jnp.asarray(beta), 0)
    return surrogate_objective(ratio_t, adv_t) - beta * kl_t


def adaptive_kl_coefficient(
    beta: Array | float,
    kl: Array | float,
    kl_target: Array | float,
    factor: Array | float = 2.0,
) -> Array:
    """PPO's adaptive KL coefficient rule, applied once per policy update.

    β ← β / f if d < d_targ / 1.5;  β ← f · β if d > 1.5 · d_targ;  β unchanged otherwise,
    where d is the mean KL[π_old, π_θ] measured after the update and f = 2 in the paper.
    f = 1 keeps β fixed.

    Reference: Schulman et al. (2017), §4.
    """
    beta, kl, kl_target, factor = (jnp.asarray(x) for x in (beta, kl, kl_target, factor))
    chex.assert_rank([beta, kl, kl_target, factor], 0)
    return jnp.where(
        kl < kl_target / 1.5, beta / factor, jnp.where(kl > kl_target * 1.5, beta * factor, beta)
    )


def normalize_advantages(adv_t: Array, weight_t: Array | None = None) -> Array:
    """Standardized advantages (Â_t − mean) / (std + 1e-8) over a batch ``[B]``.

    With ``weight_t`` ``[B]`` (e.g. 1 for steps of finished episodes, 0 for the rest) the
    mean and standard deviation are weighted ones, Σ w x / max(Σ w, 1). Shifting by a
    constant leaves the policy gradient unbiased; scaling sets the step size per batch.

    Reference: Andrychowicz et al., "What Matters in On-Policy RL" (2021), §3 (per-minibatch
    advantage normalization); Huang et al., "The 37 Implementation Details of PPO" (2022).
    """
    chex.assert_rank(adv_t, 1)
    if weight_t is None:
        return (adv_t - adv_t.mean()) / (adv_t.std() + 1e-8)
    chex.assert_equal_shape([adv_t, weight_t])
    total = jnp.maximum(jnp.sum(weight_t), 1.0)
    mean = jnp.sum(weight_t * adv_t) / total
    std = jnp.sqrt(jnp.sum(weight_t * jnp.square(adv_t - mean)) / total)
    return (adv_t - mean) / (std + 1e-8)


def entropy_loss(entropy_t: Array) -> Array:
    """Entropy bonus as a loss, −H[π(·|s_t)] per sample; scale it by the entropy coefficient.

    Reference: Williams & Peng (1991); Mnih et al., "Asynchronous Methods for Deep
    Reinforcement Learning" (2016), §4.
    """
    chex.assert_rank(entropy_t, 1)
    return -entropy_t


def value_loss(
    v_tm1: Array,
    target_t: Array,
    v_old_tm1: Array | None = None,
    clip_epsilon: Array | float | None = None,
) -> Array:
    """Squared value regression loss ½ (V_θ(s_t) − G_t)² per sample, optionally clipped.

    With ``v_old_tm1`` and ``clip_epsilon`` the PPO2-style clipped loss
    ½ max((V − G)², (V_old + clip(V − V_old, −ε, ε) − G)²) keeps V near its old value.

    Args:
      v_tm1: ``[B]`` predicted values.
      target_t: ``[B]`` regression targets (constants).
      v_old_tm1: optional ``[B]`` values predicted when the data were collected.
      clip_epsilon: optional scalar clip range (requires ``v_old_tm1``).

    Reference: Dhariwal et al., OpenAI Baselines PPO2 (2017); Andrychowicz et al., "What
    Matters in On-Policy RL" (2021), §3.
    """
    chex.assert_rank([v_tm1, target_t], 1)
    chex.assert_equal_shape([v_tm1, target_t])
    target_t = jax.lax.stop_gradient(target_t)
    loss = 0.5 * jnp.square(v_tm1 - target_t)
    if clip_epsilon is None:
        return loss
    if v_old_tm1 is None:
        raise ValueError("value_loss: clip_epsilon needs v_old_tm1")
    chex.assert_equal_shape([v_tm1, v_old_tm1])
    v_old_tm1 = jax.lax.stop_gradient(v_old_tm1)
    v_clipped = v_old_tm1 + jnp.clip(v_tm1 - v_old_tm1, -clip_epsilon, clip_epsilon)
    return jnp.maximum(loss, 0.5 * jnp.square(v_clipped - target_t))
