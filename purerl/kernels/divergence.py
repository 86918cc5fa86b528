"""Sample estimators of the KL divergence between two policies, from log-probabilities.

For x ~ q and the log-ratio ``log_ratio = log p(x) − log q(x)`` (so r = p(x)/q(x)), each
estimator's expectation under q is (k1, k3) or approximates (k2) KL[q‖p] = E_q[log q/p]:

- k1 = −log r: unbiased, but negative for about half the samples (high variance);
- k2 = ½ (log r)²: always ≥ 0, biased; its bias is third order in the log-ratio's size,
  so it is close to KL when p and q are close;
- k3 = (r − 1) − log r: unbiased (E_q[r] = 1) and always ≥ 0 (log r ≤ r − 1), with low
  variance when p ≈ q.

Examples: PPO's diagnostic KL[π_old‖π] from actions sampled by π_old uses
``log_ratio = log π(a|s) − log π_old(a|s)``; GRPO's penalty KL[π_θ‖π_ref] from tokens
sampled by π_θ uses ``log_ratio = log π_ref − log π_θ``. Element-wise over any shape;
callers reduce.

Reference: J. Schulman, "Approximating KL Divergence" (2020),
http://joschu.net/blog/kl-approx.html.
"""

from __future__ import annotations

import chex
import jax.numpy as jnp

Array = chex.Array


def kl_k1(log_ratio: Array) -> Array:
    """k1 = −log r, with ``log_ratio`` = log p(x) − log q(x) for x ~ q."""
    return -log_ratio


def kl_k2(log_ratio: Array) -> Array:
    """k2 = ½ (log r)², with ``log_ratio`` = log p(x) − log q(x) for x ~ q."""
    return 0.5 * jnp.square(log_ratio)


def kl_k3(log_ratio: Array) -> Array:
    """k3 = (r − 1) − log r, with ``log_ratio`` = log p(x) − log q(x) for x ~ q.

    Near r = 1, where ``exp(x) − 1 − x`` cancels to rounding noise, it is the series
    x²/2 + x³/6 + x⁴/24 + x⁵/120 (x = log r, relative error < 3e-7 for |x| < 0.1);
    elsewhere ``expm1(x) − x``; floored at 0 so rounding never makes it negative.
    """
    x = log_ratio
    series = x * x * (1 / 2 + x * (1 / 6 + x * (1 / 24 + x / 120)))
    return jnp.maximum(jnp.where(jnp.abs(x) < 0.1, series, jnp.expm1(x) - x), 0.0)
