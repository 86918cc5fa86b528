"""Returns and advantage estimators over one trajectory.

Every function takes one unbatched trajectory of length T (callers ``vmap`` over
environments) and returns a per-step estimate of shape ``[T]``. The conventions, shared by
all estimators, keep termination and truncation apart:

- ``r_t[t]``: reward received on the transition out of step t.
- ``discount_t[t]``: γ, or 0 where that transition *terminated* the episode.
- ``v_tm1[t]``: V(s_t), the value of the state the transition started from.
- ``v_t[t]``: V(s_{t+1}), the value of the state it reached. Where the episode was cut
  there (terminated, truncated, or the end of the trajectory) this is the value of the
  *final* observation, before any automatic reset.
- ``truncated_t[t]``: True where the episode was cut by a time limit after step t. The
  estimate then bootstraps from ``v_t[t]`` (the final observation's value) and no trace
  crosses into the next episode. A terminated step needs no flag: ``discount_t = 0``.

The end of the trajectory is treated as a truncation: estimates bootstrap from
``v_t[T-1]``. Targets are wrapped in ``stop_gradient``.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

Array = chex.Array


def _continues(truncated_t: Array | None, like: Array) -> Array:
    """1.0 where the trace may continue into step t+1, 0.0 where it is cut."""
    cont = jnp.ones_like(like)
    if truncated_t is not None:
        cont = cont * (1.0 - truncated_t.astype(like.dtype))
    return cont.at[-1].set(0.0)


def _check(r_t: Array, discount_t: Array, *others: Array | None) -> None:
    chex.assert_rank([r_t, discount_t], 1)
    present = [x for x in others if x is not None]
    chex.assert_rank(present, 1)
    chex.assert_equal_shape([r_t, discount_t, *present])


# Backward recursions are unrolled 16 steps per loop iteration: on CPU the per-iteration
# overhead of a scan dominates these scalar bodies (PPO's update ran 1.4x faster).
_UNROLL = 16


# Scan bodies live at module level so that eager calls hit JAX's tracing cache.
def _lambda_return_step(g_next, xs):
    r, discount, v, lam = xs
    g = r + discount * ((1.0 - lam) * v + lam * g_next)
    return g, g


def _gae_step(a_next, xs):
    delta, decay = xs
    a = delta + decay * a_next
    return a, a


def td_error(r_t: Array, discount_t: Array, v_tm1: Array, v_t: Array) -> Array:
    """One-step temporal-difference errors δ_t = r_t + discount_t · V(s_{t+1}) − V(s_t).

    Args:
      r_t, discount_t, v_tm1, v_t: ``[T]`` (see the module docstring).

    Returns:
      ``[T]`` TD errors; the target part is a constant for gradients.

    Reference: Sutton & Barto, *Reinforcement Learning: An Introduction* (2018), eq. 6.5.
    """
    _check(r_t, discount_t, v_tm1, v_t)
    target = jax.lax.stop_gradient(r_t + discount_t * v_t)
    return target - v_tm1


def lambda_returns(
    r_t: Array,
    discount_t: Array,
    v_t: Array,
    lambda_: Array | float = 1.0,
    truncated_t: Array | None = None,
) -> Array:
    """λ-returns G^λ_t = r_t + discount_t · [(1 − λ) V(s_{t+1}) + λ G^λ_{t+1}].

    The recursion is cut (G^λ_t = r_t + discount_t · V(s_{t+1})) at truncated steps and at
    the last step, so no return mixes two episodes. λ = 1 gives Monte Carlo returns
    (bootstrapped only where the episode was cut by a time limit or the trajectory ends);
    λ = 0 gives one-step TD targets.

    Args:
      r_t, discount_t, v_t: ``[T]``.
      lambda_: scalar in [0, 1] (may be traced).
      truncated_t: optional ``[T]`` bool.

    Returns:
      ``[T]`` λ-returns (``stop_gradient``-ed).

    Reference: Sutton & Barto (2018), §12.1, eq. 12.3 (recursive form, eq. 12.18).
    """
    _check(r_t, discount_t, v_t, truncated_t)
    lambda_ = jnp.asarray(lambda_, dtype=r_t.dtype)
    chex.assert_rank(lambda_, 0)
    lam = lambda_ * _continues(truncated_t, r_t)
    _, g = jax.lax.scan(
        _lambda_return_step,
        jnp.zeros((), r_t.dtype),
        (r_t, discount_t, v_t, lam),
        reverse=True,
        unroll=_UNROLL,
    )
    return jax.lax.stop_gradient(g)


def discounted_returns(
    r_t: Array,
    discount_t: Array,
    v_t: Array | None = None,
    truncated_t: Array | None = None,
) -> Array:
    """Discounted reward-to-go G_t = Σ_{k≥0} (Π_{j<k} discount_{t+j}) r_{t+k}.

    The sum runs to the end of the episode. Where the episode is cut without terminating
    (a truncated step, or the end of the trajectory) it bootstraps from ``v_t`` at that step
    if given, else from 0 — the plain Monte Carlo return of the observed rewards.

    Args:
      r_t, discount_t: ``[T]``.
      v_t: optional ``[T]`` bootstrap values V(s_{t+1}).
      truncated_t: optional ``[T]`` bool.

    Returns:
      ``[T]`` returns (``stop_gradient``-ed).

    Reference: Sutton & Barto (2018), eq. 3.8; Williams (1992) for reward-to-go.
    """
    if v_t is None:
        v_t = jnp.zeros_like(r_t)
    return lambda_returns(r_t, discount_t, v_t, 1.0, truncated_t)


def n_step_returns(
    r_t: Array,
    discount_t: Array,
    v_t: Array,
    n: int,
    truncated_t: Array | None = None,
) -> Array:
    """n-step bootstrapped returns.

    G^(n)_t = Σ_{k=0}^{m−1} (Π_{j<k} discount_{t+j}) r_{t+k} + (Π_{j<m} discount_{t+j}) V(s_{t+m}),
    where m = min(n, steps until the episode is cut): the window stops early at a
    truncated step or the end of the trajectory, bootstrapping from ``v_t`` there, and a
    terminated step zeroes everything after it through ``discount_t``.

    Args:
      r_t, discount_t, v_t: ``[T]``.
      n: static number of steps, ≥ 1.
      truncated_t: optional ``[T]`` bool.

    Returns:
      ``[T]`` n-step returns (``stop_gradient``-ed).

    Reference: Sutton & Barto (2018), eq. 7.1.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    _check(r_t, discount_t, v_t, truncated_t)
    cont = _continues(truncated_t, r_t)
    g = r_t + discount_t * v_t
    for _ in range(min(n, r_t.shape[0]) - 1):
        g_next = jnp.concatenate([g[1:], jnp.zeros_like(g[:1])])
        g = r_t + discount_t * (cont * g_next + (1.0 - cont) * v_t)
    return jax.lax.stop_gradient(g)


def gae(
    r_t: Array,
    discount_t: Array,
    v_tm1: Array,
    v_t: Array,
    lambda_: Array | float,
    truncated_t: Array | None = None,
) -> Array:
    """Generalized advantage estimation.

    Â_t = δ_t + discount_t · λ · Â_{t+1},  δ_t = r_t + discount_t V(s_{t+1}) − V(s_t),
    i.e. Â_t = Σ_l (Π discount · λ)^l δ_{t+l}. The trace is cut at truncated steps and at the
    last step (Â_t = δ_t there, with δ_t bootstrapping from the final observation's value).
    λ = 0 gives δ_t; λ = 1 without truncation gives the discounted return minus V(s_t).

    Args:
      r_t, discount_t, v_tm1, v_t: ``[T]``.
      lambda_: scalar in [0, 1] (may be traced).
      truncated_t: optional ``[T]`` bool.

    Returns:
      ``[T]`` advantages (``stop_gradient``-ed). Value targets are ``v_tm1 + Â``.

    Reference: Schulman et al., "High-Dimensional Continuous Control Using Generalized
    Advantage Estimation" (2016), eq. 16.
    """
    _check(r_t, discount_t, v_tm1, v_t, truncated_t)
    lambda_ = jnp.asarray(lambda_, dtype=r_t.dtype)
    chex.assert_rank(lambda_, 0)
    delta = r_t + discount_t * v_t - v_tm1
    decay = discount_t * lambda_ * _continues(truncated_t, r_t)
    _, adv = jax.lax.scan(
        _gae_step, jnp.zeros((), r_t.dtype), (delta, decay), reverse=True, unroll=_UNROLL
    )
    return jax.lax.stop_gradient(adv)


def _fill_forward_step(g0, xs):
    g, start = xs
    g0 = jnp.where(start, g, g0)
    return g0, g0


def total_returns(r_t: Array, discount_t: Array, done_t: Array) -> Array:
    """R(τ) of the episode each step belongs to, the same for every step of the episode.

    R(τ) = Σ_k (Π_{j<k} discount_{s+j}) r_{s+k}, summed from the episode's first step s
    (the trajectory's first step, or the step after a ``done_t``) to its last; no bootstrap.
    Note γ^k counts from the episode's start, not from t.

    Args:
      r_t, discount_t: ``[T]``.
      done_t: ``[T]`` bool, True at the last step of an episode (terminated or truncated).

    Returns:
      ``[T]`` total returns (``stop_gradient``-ed).

    Reference: Sutton & Barto (2018), §13.3; Schulman, "Deep RL Bootcamp" (2017), the
    policy-gradient estimator with ψ_t = R(τ).
    """
    _check(r_t, discount_t, done_t)
    to_go = discounted_returns(r_t, discount_t, None, done_t)
    start = jnp.concatenate([jnp.ones((1,), bool), done_t[:-1].astype(bool)])
    _, g = jax.lax.scan(_fill_forward_step, jnp.zeros((), r_t.dtype), (to_go, start))
    return jax.lax.stop_gradient(g)


PSI = ("total_return", "reward_to_go", "reward_to_go_baseline", "q_value", "gae",
       "td_residual")  # fmt: skip


def policy_gradient_psi(
    kind: str,
    r_t: Array,
    discount_t: Array,
    v_tm1: Array,
    v_t: Array,
    done_t: Array,
    lambda_: Array | float = 1.0,
) -> Array:
    """The weight ψ_t of ∇J = E[Σ_t ∇log π(a_t|s_t) ψ_t] (Schulman et al., 2016, §2).

    - ``"total_return"``: R(τ), the whole episode's return (``total_returns``);
    - ``"reward_to_go"``: Σ_{t'≥t} γ^{t'−t} r_{t'} to the episode's end, no bootstrap;
    - ``"reward_to_go_baseline"``: the reward-to-go minus the baseline b(s_t) = V(s_t);
    - ``"q_value"``: Q̂(s_t, a_t), the λ-return bootstrapped from V (λ = 1: Monte Carlo,
      bootstrapped only where the episode is cut; λ = 0: r_t + γ V(s_{t+1}));
    - ``"gae"``: Â(s_t, a_t) = GAE(λ), i.e. the λ-return minus V(s_t);
    - ``"td_residual"``: δ_t = r_t + γ V(s_{t+1}) − V(s_t), an unbiased estimate of
      A^π(s_t, a_t) when V = V^π.

    Args:
      kind: one of ``PSI`` (static).
      r_t, discount_t, v_tm1, v_t: ``[T]`` (see the module docstring).
      done_t: ``[T]`` bool, True at an episode's last step (terminated or truncated). The
        Monte Carlo kinds stop summing there; the bootstrapped ones bootstrap from ``v_t``
        there unless ``discount_t`` is 0 (a termination).
      lambda_: λ for ``"q_value"`` and ``"gae"``.

    Returns:
      ``[T]`` weights (``stop_gradient``-ed).
    """
    if kind not in PSI:
        raise ValueError(f"kind must be one of {PSI}, got {kind!r}")
    _check(r_t, discount_t, v_tm1, v_t, done_t)
    if kind == "total_return":
        return total_returns(r_t, discount_t, done_t)
    if kind == "reward_to_go":
        return discounted_returns(r_t, discount_t, None, done_t)
    if kind == "reward_to_go_baseline":
        return discounted_returns(r_t, discount_t, None, done_t) - jax.lax.stop_gradient(v_tm1)
    if kind == "q_value":
        return lambda_returns(r_t, discount_t, v_t, lambda_, done_t)
    if kind == "gae":
        return gae(r_t, discount_t, v_tm1, v_t, lambda_, done_t)
    return jax.lax.stop_gradient(td_error(r_t, discount_t, v_tm1, v_t))
