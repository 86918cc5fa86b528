"""Kernels for training language-model policies: reward models from comparisons, group-
relative advantages (GRPO, outcome and process supervision), token-loss aggregation, and
RLHF's KL-shaped rewards and pretraining mix.

Shapes: a *group* is the G completions sampled for one prompt; token arrays are ``[G, T]``
with a mask ``[G, T]`` (1 on a completion's tokens, EOS included; 0 on padding). Kernels are
unbatched over prompts (callers ``vmap``); the KL estimators are ``purerl.kernels.divergence``.

References: Ouyang et al., "Training language models to follow instructions with human
feedback" (InstructGPT, 2022), eqs. 1-2; Shao et al., "DeepSeekMath" (GRPO, 2024), §4.1;
Liu et al., "Understanding R1-Zero-Like Training: A Critical Perspective" (Dr. GRPO, 2025);
Yu et al., "DAPO" (2025).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from purerl.kernels import divergence, policy

Array = chex.Array

BASELINES = ("mean", "leave_one_out")
SCALES = ("group", "batch", "none")
AGGREGATIONS = ("sequence_mean", "token_mean", "constant")


def bradley_terry_loss(reward_chosen: Array, reward_rejected: Array) -> Array:
    """−log σ(r(x, y_w) − r(x, y_l)) for one comparison (scalars).

    The negative log-likelihood of the preference y_w ≻ y_l under the Bradley–Terry model
    P(y_w ≻ y_l) = σ(r_w − r_l). It is log 2 at equal rewards, and L(d) − L(−d) = −d for the
    margin d = r_w − r_l. Computed as softplus(−d), exact for large |d|.

    Reference: Bradley & Terry (1952); InstructGPT (2022), eq. 1.
    """
    reward_chosen, reward_rejected = jnp.asarray(reward_chosen), jnp.asarray(reward_rejected)
    chex.assert_rank([reward_chosen, reward_rejected], 0)
    return jax.nn.softplus(reward_rejected - reward_chosen)


def ranking_loss(rewards: Array) -> Array:
    """The K-wise Bradley–Terry loss of a ranking: the mean over its K(K−1)/2 pairs (i < j)
    of −log σ(r_i − r_j), with ``rewards`` ``[K]`` ordered best first (K ≥ 2).

    Reference: InstructGPT (2022), eq. 1 (all pairs of a K-way ranking, one batch element).
    """
    chex.assert_rank(rewards, 1)
    k = rewards.shape[0]
    if k < 2:
        raise ValueError(f"ranking_loss: a ranking needs at least 2 items, got {k}")
    better, worse = jnp.triu_indices(k, 1)
    return jnp.mean(jax.vmap(bradley_terry_loss)(rewards[better], rewards[worse]))


def _constant(x: Array, mask: Array | None = None) -> Array:
    """Whether every (masked-in) element is equal: those groups get zero advantages."""
    if mask is None:
        return jnp.max(x) == jnp.min(x)
    return jnp.max(jnp.where(mask, x, -jnp.inf)) == jnp.min(jnp.where(mask, x, jnp.inf))


def group_advantages(
    rewards: Array,
    baseline: str = "mean",
    scale: str = "group",
    eps: float = 1e-6,
    batch_std: Array | None = None,
) -> Array:
    """Group-relative advantages of G completions of one prompt, ``[G]`` → ``[G]``.

    Â_i = (r_i − b_i) / (s + ε), with the baseline b_i the group mean, or the mean of the
    *other* G − 1 rewards (``"leave_one_out"``, RLOO); the scale s the group's standard
    deviation (population, GRPO), ``batch_std`` (the std over the whole batch, computed by
    the caller) or 1 (``"none"``, Dr. GRPO). A group whose rewards are all equal carries no
    signal and gets exactly zero advantages, never NaN.

    Reference: GRPO (DeepSeekMath, 2024), §4.1.2; Ahmadian et al., "Back to Basics" (RLOO,
    2024); Dr. GRPO (2025).
    """
    chex.assert_rank(rewards, 1)
    if baseline not in BASELINES:
        raise ValueError(f"group_advantages: baseline must be one of {BASELINES}, got {baseline!r}")
    if scale not in SCALES:
        raise ValueError(f"group_advantages: scale must be one of {SCALES}, got {scale!r}")
    g = rewards.shape[0]
    if baseline == "leave_one_out":
        if g < 2:
            raise ValueError("group_advantages: a leave-one-out baseline needs G ≥ 2")
        centred = rewards - (jnp.sum(rewards) - rewards) / (g - 1)
    else:
        centred = rewards - jnp.mean(rewards)
    if scale == "group":
        centred = centred / (jnp.std(rewards) + eps)
    elif scale == "batch":
        if batch_std is None:
            raise ValueError('group_advantages: scale="batch" needs batch_std')
        chex.assert_rank(jnp.asarray(batch_std), 0)
        centred = centred / (batch_std + eps)
    return jnp.where(_constant(rewards), 0.0, centred)


def process_advantages(
    step_rewards: Array, step_end: Array, step_mask: Array, num_tokens: int, eps: float = 1e-6
) -> Array:
    """Process-supervision advantages per token, ``[G, S]`` steps → ``[G, T]`` tokens.

    Each completion i has up to S reasoning steps with rewards r_i^j, the step ending at
    token ``step_end[i, j]``. The rewards are normalized over all the group's steps,
    r̃ = (r − mean) / (std + ε), and a token's advantage is the sum of the normalized
    rewards of the steps that end at or after it: Â_{i,t} = Σ_{j: end(j) ≥ t} r̃_i^j. With
    one step per completion, ending at its last token, this is ``group_advantages`` on
    every token. Constant step rewards give zero advantages.

    Args:
      step_rewards: ``[G, S]`` reward of each step.
      step_end: ``[G, S]`` int index of each step's last token.
      step_mask: ``[G, S]`` 1 for real steps, 0 for padding.
      num_tokens: T, the length of the token axis.

    Reference: GRPO (DeepSeekMath, 2024), §4.1.3.
    """
    chex.assert_rank([step_rewards, step_end, step_mask], 2)
    chex.assert_equal_shape([step_rewards, step_end, step_mask])
    mask = step_mask.astype(bool)
    count = jnp.maximum(jnp.sum(mask), 1)
    mean = jnp.sum(jnp.where(mask, step_rewards, 0.0)) / count
    std = jnp.sqrt(jnp.sum(jnp.where(mask, jnp.square(step_rewards - mean), 0.0)) / count)
    normalized = jnp.where(mask, (step_rewards - mean) / (std + eps), 0.0)
    normalized = jnp.where(_constant(step_rewards, mask), 0.0, normalized)
    ends_after = step_end[:, :, None] >= jnp.arange(num_tokens)[None, None, :]  # [G, S, T]
    return jnp.sum(jnp.where(ends_after, normalized[:, :, None], 0.0), axis=1)


def aggregate_token_terms(
    terms: Array, mask: Array, aggregation: str = "sequence_mean", normalizer: float = 1.0
) -> Array:
    """Reduce per-token loss terms ``[N, T]`` of N completions to a scalar.

    - ``"sequence_mean"``: (1/N) Σ_i (1/|o_i|) Σ_t — the GRPO paper's form; a long
      completion's tokens weigh less than a short one's;
    - ``"token_mean"``: Σ_i Σ_t / Σ_i |o_i| — every token weighs the same (DAPO);
    - ``"constant"``: Σ_i Σ_t / (N · ``normalizer``), a fixed normalizer such as the maximum
      completion length (Dr. GRPO): no length bias in the gradient.

    The first two agree when all completions have the same length L; the constant form is
    then the token mean times L / ``normalizer``. Empty completions contribute 0.
    """
    chex.assert_rank([terms, mask], 2)
    chex.assert_equal_shape([terms, mask])
    if aggregation not in AGGREGATIONS:
        raise ValueError(
            f"aggregate_token_terms: aggregation must be one of {AGGREGATIONS}, got {aggregation!r}"
        )
    mask = mask.astype(terms.dtype)
    per_completion = jnp.sum(terms * mask, axis=1)
    lengths = jnp.sum(mask, axis=1)
    if aggregation == "sequence_mean":
        return jnp.mean(per_completion / jnp.maximum(lengths, 1.0))
    if aggregation == "token_mean":
        return jnp.sum(per_completion) / jnp.maximum(jnp.sum(lengths), 1.0)
    return jnp.sum(per_completion) / (terms.shape[0] * normalizer)


def kl_shaped_rewards(
    reward: Array, logp: Array, logp_ref: Array, mask: Array, beta: Array | float
) -> Array:
    """RLHF's per-token rewards for one completion, ``[T]``: −β (log π(y_t) − log π_SFT(y_t))
    on every token, plus the reward model's score r(x, y) on the last one.

    Summed over the completion this is r(x, y) − β log(π(y|x) / π_SFT(y|x)), the objective
    of InstructGPT's eq. 2 (its KL term is the k1 estimator, ``divergence.kl_k1``, per
    token). ``logp``/``logp_ref`` are the sampled tokens' log-probabilities (constants here).

    Reference: Ziegler et al., "Fine-Tuning Language Models from Human Preferences" (2019);
    InstructGPT (2022), eq. 2.
    """
    chex.assert_rank([logp, logp_ref, mask], 1)
    chex.assert_equal_shape([logp, logp_ref, mask])
    reward = jnp.asarray(reward)
    chex.assert_rank([reward, jnp.asarray(beta)], 0)
    mask = mask.astype(logp.dtype)
    log_ratio = jax.lax.stop_gradient(logp - logp_ref)
    last = jnp.arange(mask.shape[0]) == jnp.sum(mask) - 1
    return mask * (-beta * log_ratio) + jnp.where(last, reward, 0.0)


def pretraining_objective(logp: Array, mask: Array) -> Array:
    """E[log π(x)] over the tokens of pretraining (or demonstration) sequences ``[N, T]``:
    InstructGPT's PPO-ptx term, added to the RL objective with weight γ (to maximize).

    Reference: InstructGPT (2022), eq. 2.
    """
    chex.assert_rank([logp, mask], 2)
    chex.assert_equal_shape([logp, mask])
    return aggregate_token_terms(logp, mask, "token_mean")


def grpo_token_objective(
    logp: Array,
    logp_old: Array,
    logp_ref: Array,
    advantages: Array,
    epsilon: Array | float,
    epsilon_high: Array | float | None = None,
    beta: Array | float = 0.0,
    kl_estimator: str = "k3",
) -> Array:
    """GRPO's per-token objective for one completion, ``[T]`` (to maximize):

        min(ρ_t Â_t, clip(ρ_t, 1 − ε, 1 + ε_high) Â_t) − β KL̂_t,   ρ_t = π_θ(o_t) / π_old(o_t),

    with KL̂_t an estimate of KL[π_θ‖π_ref] from the sampled token: k1, k2 or k3 of
    ``divergence`` on log π_ref − log π_θ. GRPO uses k3 = ρ − log ρ − 1 with ρ = π_ref/π_θ;
    one lecture writes it without the −1, which adds 1 to every estimate (the gradient is
    the same, but the reported KL is off by one and never 0). Reduce over tokens with
    ``aggregate_token_terms``. With β = 0 and ε = ∞ its gradient at θ = θ_old is
    REINFORCE's, Σ_t Â_t ∇log π_θ(o_t).

    Reference: GRPO (DeepSeekMath, 2024), eqs. 3-4; DAPO (2025) for ε_high.
    """
    chex.assert_rank([logp, logp_old, logp_ref, advantages], 1)
    chex.assert_equal_shape([logp, logp_old, logp_ref, advantages])
    estimators = {"k1": divergence.kl_k1, "k2": divergence.kl_k2, "k3": divergence.kl_k3}
    if kl_estimator not in estimators:
        raise ValueError(f"grpo_token_objective: kl_estimator must be one of {tuple(estimators)}")
    ratio = policy.importance_ratio(logp, logp_old)
    surrogate = policy.clipped_surrogate_objective(ratio, advantages, epsilon, epsilon_high)
    kl = estimators[kl_estimator](jax.lax.stop_gradient(logp_ref) - logp)
    return surrogate - beta * kl
