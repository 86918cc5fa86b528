"""Dynamic programming on a known finite MDP: value iteration (finite-horizon and to a
tolerance), Q-value iteration, policy evaluation (iterative or exact) and policy iteration.

Every function is pure and jittable, and ``vmap``s over MDPs (an ``MDP`` is a pytree of
arrays) and over γ. Policies are ``[S]`` int action indices (deterministic) or ``[S, A]``
action probabilities. Terminal states have value 0.

    V_k(s) = max_a Σ_s' P(s'|s,a) [R(s,a,s') + γ V_{k−1}(s')],   V_0 = 0     (value iteration)
    Q_k(s,a) = Σ_s' P(s'|s,a) [R(s,a,s') + γ max_a' Q_{k−1}(s',a')]          (Q-value iteration)
    V^π = r_π + γ P_π V^π                                                   (policy evaluation)
    π_{k+1}(s) = argmax_a Q^{π_k}(s, a)                                     (policy improvement)

With γ = 1 the iterations converge only where every policy reaches a terminal state, and
the exact evaluation needs π to reach one from every state (else I − P_π is singular).

Reference: Sutton & Barto (2018), ch. 4; Bellman (1957); Howard (1960).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from purerl.envs.tabular import MDP
from purerl.kernels import tabular as K

EVALUATIONS = ("exact", "iterative")


class Solution(NamedTuple):
    v: jax.Array  # [S] state values
    q: jax.Array  # [S, A] action values
    policy: jax.Array  # [S] greedy actions (int32)
    iterations: jax.Array  # sweeps (value iteration) or improvements (policy iteration)


class FiniteHorizon(NamedTuple):
    values: jax.Array  # [H, S]: values[k − 1] = V_k, k = 1..H
    policies: jax.Array  # [H, S]: policies[k − 1] = π_k, greedy with k steps to go


def _gamma(gamma) -> jax.Array:
    return jnp.asarray(gamma, jnp.float32)


def _probs(mdp: MDP, policy: jax.Array) -> jax.Array:
    if policy.ndim == 1:
        return jax.nn.one_hot(policy, mdp.num_actions, dtype=jnp.float32)
    return policy


def _solution(mdp: MDP, v: jax.Array, gamma: jax.Array, iterations: jax.Array) -> Solution:
    q = K.q_backup(mdp.P, mdp.R, mdp.terminal, v, gamma)
    return Solution(v, q, jnp.argmax(q, axis=-1).astype(jnp.int32), iterations)


def finite_horizon_value_iteration(mdp: MDP, gamma, horizon: int) -> FiniteHorizon:
    """V_k and the greedy π_k for k = 1..``horizon`` from V_0 = 0 (``horizon`` is static)."""
    gamma = _gamma(gamma)

    def sweep(v, _):
        q = K.q_backup(mdp.P, mdp.R, mdp.terminal, v, gamma)
        v = jnp.where(mdp.terminal, 0.0, jnp.max(q, axis=-1))
        return v, (v, jnp.argmax(q, axis=-1).astype(jnp.int32))

    v0 = jnp.zeros(mdp.num_states, jnp.float32)
    _, (values, policies) = jax.lax.scan(sweep, v0, None, length=horizon)
    return FiniteHorizon(values, policies)


def _iterate(backup, x0: jax.Array, tol, max_iters) -> tuple[jax.Array, jax.Array]:
    """Apply ``backup`` until the largest change is below ``tol`` (or ``max_iters`` sweeps)."""

    def cond(carry):
        _, change, i = carry
        return (change >= tol) & (i < max_iters)

    def body(carry):
        x, _, i = carry
        x_new = backup(x)
        return x_new, jnp.max(jnp.abs(x_new - x)), i + 1

    x, _, i = jax.lax.while_loop(cond, body, (x0, jnp.asarray(jnp.inf, x0.dtype), 0))
    return x, i


def value_iteration(mdp: MDP, gamma, tol=1e-6, max_iters=100_000) -> Solution:
    """V ← T*V from V = 0 until max |ΔV| < ``tol``; the Bellman residual is then < γ·tol."""
    gamma = _gamma(gamma)
    backup = lambda v: K.v_optimality_backup(mdp.P, mdp.R, mdp.terminal, v, gamma)  # noqa: E731
    v, iterations = _iterate(backup, jnp.zeros(mdp.num_states, jnp.float32), tol, max_iters)
    return _solution(mdp, v, gamma, iterations)


def q_value_iteration(mdp: MDP, gamma, tol=1e-6, max_iters=100_000) -> Solution:
    """Q ← T*Q from Q = 0 until max |ΔQ| < ``tol``."""
    gamma = _gamma(gamma)
    backup = lambda q: K.q_optimality_backup(mdp.P, mdp.R, mdp.terminal, q, gamma)  # noqa: E731
    q0 = jnp.zeros((mdp.num_states, mdp.num_actions), jnp.float32)
    q, iterations = _iterate(backup, q0, tol, max_iters)
    v = jnp.where(mdp.terminal, 0.0, jnp.max(q, axis=-1))
    return Solution(v, q, jnp.argmax(q, axis=-1).astype(jnp.int32), iterations)


def policy_evaluation(
    mdp: MDP, policy: jax.Array, gamma, method: str = "exact", tol=1e-8, max_iters=100_000
) -> jax.Array:
    """V^π: ``"exact"`` solves (I − γ P_π) V = r_π; ``"iterative"`` repeats V ← T^π V."""
    gamma = _gamma(gamma)
    pi = _probs(mdp, policy)
    if method == "exact":
        p_pi, r_pi = K.policy_model(mdp.P, mdp.R, mdp.terminal, pi)
        return K.solve_linear(jnp.eye(mdp.num_states) - gamma * p_pi, r_pi)
    if method == "iterative":
        backup = lambda v: K.v_expectation_backup(  # noqa: E731
            mdp.P, mdp.R, mdp.terminal, v, gamma, pi
        )
        return _iterate(backup, jnp.zeros(mdp.num_states, jnp.float32), tol, max_iters)[0]
    raise ValueError(f"method must be one of {EVALUATIONS}, got {method!r}")


def policy_iteration(
    mdp: MDP, gamma, evaluation: str = "exact", tol=1e-6, max_iters=1_000
) -> Solution:
    """Evaluate π_k, improve greedily by one-step look-ahead, until the policy is stable.

    Starts from π_0(s) = action 0. An action changes only when another is better by more
    than ``tol``, so ties (or evaluation error) cannot make it cycle.
    """
    gamma = _gamma(gamma)
    # Iterative evaluation runs to well below the improvement threshold.
    evaluate = lambda pi: policy_evaluation(mdp, pi, gamma, evaluation, tol=tol * 1e-2)  # noqa: E731

    def improve(pi):
        q = K.q_backup(mdp.P, mdp.R, mdp.terminal, evaluate(pi), gamma)
        keep = jnp.take_along_axis(q, pi[:, None], axis=-1)[:, 0] >= jnp.max(q, axis=-1) - tol
        return jnp.where(keep, pi, jnp.argmax(q, axis=-1)).astype(jnp.int32)

    def cond(carry):
        _, stable, i = carry
        return ~stable & (i < max_iters)

    def body(carry):
        pi, _, i = carry
        new = improve(pi)
        return new, jnp.all(new == pi), i + 1

    pi0 = jnp.zeros(mdp.num_states, jnp.int32)
    pi, _, iterations = jax.lax.while_loop(cond, body, (pi0, jnp.asarray(False), 0))
    v = evaluate(pi)
    q = K.q_backup(mdp.P, mdp.R, mdp.terminal, v, gamma)
    return Solution(v, q, pi, iterations)


def start_value(mdp: MDP, v: jax.Array) -> jax.Array:
    """Σ_s init(s) V(s): the expected value from the initial-state distribution."""
    return jnp.sum(mdp.init * v)
