"""Bellman backups and tabular update pieces over a finite MDP given as arrays.

Arrays: ``P[s, a, s']`` transition probabilities, ``R[s, a, s']`` rewards, ``terminal[s]``
(entering a terminal state ends the episode: its value is 0 and is never bootstrapped
from), ``v`` ``[S]``, ``q`` ``[S, A]``, ``pi`` ``[S, A]`` action probabilities.

Reference: Sutton & Barto, "Reinforcement Learning: An Introduction" (2nd ed., 2018),
chapters 4 (dynamic programming), 5 (Monte Carlo), 7 (n-step) and 12 (eligibility traces).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

Array = chex.Array


def _check_mdp(P: Array, R: Array, terminal: Array) -> None:
    chex.assert_rank([P, R, terminal], [3, 3, 1])
    chex.assert_equal_shape([P, R])
    chex.assert_equal_shape_prefix([P, terminal], 1)


def q_backup(P: Array, R: Array, terminal: Array, v: Array, gamma: Array) -> Array:
    """Q(s, a) = Σ_s' P(s'|s,a) [R(s,a,s') + γ (1 − terminal(s')) V(s')]   → ``[S, A]``."""
    _check_mdp(P, R, terminal)
    chex.assert_rank([v, gamma], [1, 0])
    v_next = jnp.where(terminal, 0.0, v)
    return jnp.sum(P * R, axis=-1) + gamma * jnp.einsum("sat,t->sa", P, v_next)


def q_optimality_backup(P: Array, R: Array, terminal: Array, q: Array, gamma: Array) -> Array:
    """(T*Q)(s, a) = Σ_s' P(s'|s,a) [R + γ (1 − terminal(s')) max_a' Q(s', a')]."""
    return q_backup(P, R, terminal, jnp.max(q, axis=-1), gamma)


def v_optimality_backup(P: Array, R: Array, terminal: Array, v: Array, gamma: Array) -> Array:
    """(T*V)(s) = max_a Q(s, a), 0 at terminal states (Bellman optimality)."""
    return jnp.where(terminal, 0.0, jnp.max(q_backup(P, R, terminal, v, gamma), axis=-1))


def v_expectation_backup(
    P: Array, R: Array, terminal: Array, v: Array, gamma: Array, pi: Array
) -> Array:
    """(T^π V)(s) = Σ_a π(a|s) Q(s, a), 0 at terminal states (Bellman expectation)."""
    chex.assert_equal_shape_prefix([P, pi], 2)
    q = q_backup(P, R, terminal, v, gamma)
    return jnp.where(terminal, 0.0, jnp.sum(pi * q, axis=-1))


def policy_model(P: Array, R: Array, terminal: Array, pi: Array) -> tuple[Array, Array]:
    """The Markov reward process of π: (P_π ``[S, S]``, r_π ``[S]``), with the rows of terminal
    states and the columns into them zeroed, so that V^π = r_π + γ P_π V^π has V^π(terminal) = 0."""
    _check_mdp(P, R, terminal)
    chex.assert_equal_shape_prefix([P, pi], 2)
    live = ~terminal
    p_pi = jnp.einsum("sa,sat->st", pi, P) * live[:, None] * live[None, :]
    r_pi = jnp.where(live, jnp.einsum("sa,sat,sat->s", pi, P, R), 0.0)
    return p_pi, r_pi


def solve_linear(a: Array, b: Array) -> Array:
    """x with a x = b, by Gauss–Jordan elimination with partial pivoting in plain XLA ops.

    Written out instead of ``jnp.linalg.solve`` because a batched LAPACK call under
    ``vmap`` on XLA:CPU can deadlock its intra-op thread pool (see ``purerl.nets.orthogonal``).
    For the small systems of tabular MDPs (S up to a few hundred).
    """
    chex.assert_rank([a, b], [2, 1])
    n = b.shape[0]
    aug = jnp.concatenate([a, b[:, None]], axis=1)
    rows = jnp.arange(n)

    def eliminate(k, m):
        pivot = jnp.argmax(jnp.where(rows >= k, jnp.abs(m[:, k]), -1.0))
        row_k, row_p = m[k], m[pivot]
        m = m.at[k].set(row_p).at[pivot].set(row_k)
        m = m.at[k].divide(m[k, k])
        factors = jnp.where(rows == k, 0.0, m[:, k])
        return m - factors[:, None] * m[k][None, :]

    return jax.lax.fori_loop(0, n, eliminate, aug)[:, -1]


def greedy_policy(q: Array) -> Array:
    """π(a|s) = 1 for a = argmax_a Q(s, a) (the first on ties), else 0   → ``[S, A]``."""
    chex.assert_rank(q, 2)
    return jax.nn.one_hot(jnp.argmax(q, axis=-1), q.shape[-1], dtype=q.dtype)


def epsilon_greedy_probs(q: Array, epsilon: Array) -> Array:
    """π(a) = ε/A + (1 − ε) · [a = argmax Q] for one state's values ``q`` ``[A]``.

    Ties go to the first maximal action, as in ``greedy_policy``, ``jnp.argmax``, the
    greedy policies every algorithm evaluates, and ``distributions.epsilon_greedy_sample``:
    at ε = 0 this is exactly the greedy policy."""
    chex.assert_rank([q, epsilon], [1, 0])
    best = jax.nn.one_hot(jnp.argmax(q), q.shape[0], dtype=q.dtype)
    return epsilon / q.shape[0] + (1.0 - epsilon) * best


TRACES = ("accumulating", "replacing")


def eligibility_trace(e: Array, index: Array, decay: Array, kind: str = "accumulating") -> Array:
    """e ← γλ e, then e[index] ← e[index] + 1 (accumulating) or 1 (replacing).

    ``e`` is a trace over table entries (any shape), ``index`` the entry just visited,
    ``decay`` = γλ (0 where the previous transition ended the episode).
    """
    e = decay * e
    if kind == "accumulating":
        return e.at[index].add(1.0)
    if kind == "replacing":
        return e.at[index].set(1.0)
    raise ValueError(f"trace must be one of {TRACES}, got {kind!r}")


def table_increment(table_shape: tuple[int, ...], index: Array, error: Array, mask: Array) -> Array:
    """Σ_t mask_t · error_t · 1[entry = index_t]: the summed offline update of a table.

    ``index`` is ``[T]`` state indices or a tuple of ``[T]`` arrays (states, actions).
    """
    chex.assert_rank([error, mask], 1)
    return jnp.zeros(table_shape, error.dtype).at[index].add(jnp.where(mask, error, 0.0))


def first_visits(states: Array, valid: Array) -> Array:
    """True at each step t whose state is not visited at an earlier valid step (``[T]``)."""
    chex.assert_rank([states, valid], 1)
    t = jnp.arange(states.shape[0])
    earlier = (t[None, :] < t[:, None]) & valid[None, :] & (states[None, :] == states[:, None])
    return valid & ~jnp.any(earlier, axis=1)
