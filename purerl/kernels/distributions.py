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
