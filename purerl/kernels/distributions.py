"""Action distributions as small pure functions: sample, log-prob, entropy, analytic KL.

Unbatched: a categorical is its logits ``[A]``; a diagonal Gaussian is ``(mean, log_std)``,
each ``[D]``, whose log-prob, entropy and KL sum over the D independent dimensions.
``CATEGORICAL`` and ``DIAG_GAUSSIAN`` bundle the four functions behind one signature so an
algorithm can be written once for discrete and continuous actions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp

Array = chex.Array
_LOG_2PI = math.log(2.0 * math.pi)


# --- categorical ---------------------------------------------------------------------------


def categorical_sample(key: Array, logits: Array) -> Array:
    """Draw an action index a ~ softmax(logits) (Gumbel-max). ``logits``: ``[A]``."""
    chex.assert_rank(logits, 1)
    return jax.random.categorical(key, logits)


def categorical_log_prob(logits: Array, action: Array) -> Array:
    """log π(a) = logits[a] − logsumexp(logits). ``logits``: ``[A]``, ``action``: scalar int."""
    chex.assert_rank([logits, action], [1, 0])
    return jax.nn.log_softmax(logits)[action]


def _p_times(logp: Array, x: Array) -> Array:
    """p ⊙ x with 0 · x = 0 where p = 0 (a logit of −inf: a masked action), and no NaN in
    the gradient there: the masked entries of ``x`` (±inf) are replaced by 0 before
    multiplying by p = exp(−inf) = 0."""
    return jnp.exp(logp) * jnp.where(logp > -jnp.inf, x, 0.0)


def categorical_entropy(logits: Array) -> Array:
    """H(π) = −Σ_a π(a) log π(a), with 0 · log 0 = 0 (logits of −inf mask actions out).
    ``logits``: ``[A]``."""
    chex.assert_rank(logits, 1)
    logp = jax.nn.log_softmax(logits)
    return -jnp.sum(_p_times(logp, logp))


def categorical_kl(logits_p: Array, logits_q: Array) -> Array:
    """KL(p‖q) = Σ_a p(a) (log p(a) − log q(a)) ≥ 0, with 0 · log(0/q) = 0 (so actions
    masked out of p by a logit of −inf add nothing). Both ``[A]``."""
    chex.assert_rank([logits_p, logits_q], 1)
    chex.assert_equal_shape([logits_p, logits_q])
    logp = jax.nn.log_softmax(logits_p)
    logq = jax.nn.log_softmax(logits_q)
    return jnp.sum(_p_times(logp, logp - logq))


def categorical_mode(logits: Array) -> Array:
    """The most probable action, argmax_a logits[a] (the first one on ties)."""
    chex.assert_rank(logits, 1)
    return jnp.argmax(logits)


# --- ε-greedy over action values ----------------------------------------------------------


def epsilon_greedy_sample(key: Array, q: Array, epsilon: Array | float) -> Array:
    """With probability ε a uniformly random action, otherwise argmax_a q[a] (the first
    maximal action on ties, as ``jnp.argmax`` and ``kernels.tabular.epsilon_greedy_probs``).

    The action's probability is ε/A + (1 − ε)·[a = argmax q]. ``q``: ``[A]``; returns int32.

    Reference: Sutton & Barto (2018), §2.2; Mnih et al. (2015), the behaviour policy of DQN.
    """
    chex.assert_rank(q, 1)
    k_explore, k_random = jax.random.split(key)
    greedy = jnp.argmax(q).astype(jnp.int32)
    random = jax.random.randint(k_random, (), 0, q.shape[0], dtype=jnp.int32)
    return jnp.where(jax.random.uniform(k_explore) < epsilon, random, greedy)


# --- diagonal Gaussian ---------------------------------------------------------------------


def _check_gaussian(params: tuple[Array, Array]) -> tuple[Array, Array]:
    mean, log_std = params
    chex.assert_rank([mean, log_std], 1)
    chex.assert_equal_shape([mean, log_std])
    return mean, log_std


def gaussian_sample(key: Array, params: tuple[Array, Array]) -> Array:
    """Draw a = μ + σ ⊙ ξ with ξ ~ N(0, I). ``params = (mean [D], log_std [D])``."""
    mean, log_std = _check_gaussian(params)
    return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)


def gaussian_log_prob(params: tuple[Array, Array], action: Array) -> Array:
    """log N(a; μ, diag σ²) = −½ Σ_d [((a_d − μ_d)/σ_d)² + 2 log σ_d + log 2π]."""
    mean, log_std = _check_gaussian(params)
    chex.assert_equal_shape([mean, action])
    z = (action - mean) * jnp.exp(-log_std)
    return -0.5 * jnp.sum(jnp.square(z) + 2.0 * log_std + _LOG_2PI)


def gaussian_entropy(params: tuple[Array, Array]) -> Array:
    """H = Σ_d (log σ_d + ½ log 2πe)."""
    _, log_std = _check_gaussian(params)
    return jnp.sum(log_std + 0.5 * (_LOG_2PI + 1.0))


def gaussian_kl(params_p: tuple[Array, Array], params_q: tuple[Array, Array]) -> Array:
    """KL(p‖q) = Σ_d [log(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²) / (2σ_q²) − ½] ≥ 0."""
    mean_p, log_std_p = _check_gaussian(params_p)
    mean_q, log_std_q = _check_gaussian(params_q)
    chex.assert_equal_shape([mean_p, mean_q])
    var_ratio = jnp.exp(2.0 * (log_std_p - log_std_q))
    mahalanobis = jnp.square((mean_p - mean_q) * jnp.exp(-log_std_q))
    return jnp.sum(log_std_q - log_std_p + 0.5 * (var_ratio + mahalanobis - 1.0))


def gaussian_mode(params: tuple[Array, Array]) -> Array:
    """The mean μ."""
    mean, _ = _check_gaussian(params)
    return mean


class DistributionOps(NamedTuple):
    """The four operations an algorithm needs, with one signature for both families."""

    sample: Callable[[Array, Any], Array]
    log_prob: Callable[[Any, Array], Array]
    entropy: Callable[[Any], Array]
    kl: Callable[[Any, Any], Array]
    mode: Callable[[Any], Array]


CATEGORICAL = DistributionOps(
    categorical_sample, categorical_log_prob, categorical_entropy, categorical_kl, categorical_mode
)
DIAG_GAUSSIAN = DistributionOps(
    gaussian_sample, gaussian_log_prob, gaussian_entropy, gaussian_kl, gaussian_mode
)


# --- tanh-squashed Gaussian on a box ---------------------------------------------------------
#
# u ~ N(μ, diag σ²), a = c + h ⊙ tanh(u) with c = (high + low)/2, h = (high − low)/2, so a lies
# in the open box (low, high). By the change of variables (Haarnoja et al., "Soft
# Actor-Critic", 2018, appendix C),
#
#     log π(a) = log N(u; μ, σ²) − Σ_d log(1 − tanh² u_d) − Σ_d log h_d,
#
# with log(1 − tanh² u) = 2 (log 2 − u − softplus(−2u)), exact and finite for every u (the
# naive form gives log 0 = −inf once tanh u rounds to ±1). The last term, the log-determinant
# of the affine rescale, makes it a density on the box; it is constant in the parameters, so
# it changes SAC's entropy (and so the temperature's target) but no gradient of the policy.


def tanh_log_det_jacobian(u: Array) -> Array:
    """log |d tanh(u)/du| = log(1 − tanh² u) = 2 (log 2 − u − softplus(−2u)), element-wise."""
    return 2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u))


def _check_box(mean: Array, low: Array, high: Array) -> tuple[Array, Array]:
    low, high = jnp.broadcast_to(low, mean.shape), jnp.broadcast_to(high, mean.shape)
    return (high + low) / 2.0, (high - low) / 2.0


def _squash(u: Array, low: Array, high: Array) -> Array:
    """c + h tanh(u), clipped into [low, high]: where tanh rounds to ±1 the sum can land an
    ulp outside the box."""
    center, half = _check_box(u, low, high)
    return jnp.clip(center + half * jnp.tanh(u), low, high)


def squashed_gaussian_log_prob(
    params: tuple[Array, Array], u: Array, low: Array = -1.0, high: Array = 1.0
) -> Array:
    """log π(a) of the squashed action a = c + h tanh(u), from its pre-squash ``u`` ``[D]``
    (see the section note). ``params = (mean [D], log_std [D])``; ``low``, ``high`` the box."""
    mean, _ = _check_gaussian(params)
    chex.assert_equal_shape([mean, u])
    _, half = _check_box(mean, low, high)
    return gaussian_log_prob(params, u) - jnp.sum(tanh_log_det_jacobian(u)) - jnp.sum(jnp.log(half))


def squashed_gaussian_sample(
    key: Array, params: tuple[Array, Array], low: Array = -1.0, high: Array = 1.0
) -> tuple[Array, Array]:
    """Draw a = c + h tanh(u), u ~ N(μ, σ²) (reparameterized: gradients flow to μ and σ).
    Returns ``(a [D], log π(a))``."""
    u = gaussian_sample(key, params)
    return _squash(u, low, high), squashed_gaussian_log_prob(params, u, low, high)


def squashed_gaussian_mode(
    params: tuple[Array, Array], low: Array = -1.0, high: Array = 1.0
) -> Array:
    """The deterministic action c + h tanh(μ) (the squashed mean; evaluation uses it)."""
    mean, _ = _check_gaussian(params)
    return _squash(mean, low, high)
