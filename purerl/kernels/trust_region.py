"""Trust-region kernels for TRPO: Fisher-vector products, conjugate gradient, the step to the
KL radius, a backtracking line search, and the dual update of penalized TRPO.

Parameters are flat vectors ``[P]`` (``jax.flatten_util.ravel_pytree`` turns a network into
one); the functions of parameters passed in — the mean KL from the old policy, the
surrogate objective — close over the batch of data.

Reference: Schulman et al., "Trust Region Policy Optimization" (2015), §6 and appendix C.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp

Array = chex.Array


def fisher_vector_product(
    kl_fn: Callable[[Array], Array], params: Array, v: Array, damping: Array | float = 0.0
) -> Array:
    """F v + damping · v, with F = ∇²_θ KL̄(θ) at ``params`` — the Fisher information matrix
    when ``kl_fn(θ)`` is the mean KL[π_old ‖ π_θ] and ``params`` = θ_old.

    Computed as a Hessian-vector product (forward-over-reverse differentiation of the mean
    KL), never forming F: cost about two gradient evaluations.

    Args:
      kl_fn: θ ``[P]`` ↦ scalar mean KL from the (fixed) old policy.
      params: ``[P]`` the point θ_old.
      v: ``[P]``.
      damping: scalar added times ``v`` (keeps CG well conditioned).
    """
    chex.assert_rank([params, v], 1)
    chex.assert_equal_shape([params, v])
    return jax.jvp(jax.grad(kl_fn), (params,), (v,))[1] + damping * v


def conjugate_gradient(
    matvec: Callable[[Array], Array], b: Array, iters: int, residual_tol: float = 1e-10
) -> Array:
    """Approximately solve A x = b for symmetric positive-definite A, given x ↦ A x.

    Runs exactly ``iters`` iterations of conjugate gradient from x = 0 (a fixed count, so it
    compiles to one loop); once the squared residual falls below ``residual_tol`` the
    iterate stops changing. In exact arithmetic CG solves an n × n system in n iterations.

    Reference: Nocedal & Wright, *Numerical Optimization* (2006), algorithm 5.2.
    """
    chex.assert_rank(b, 1)
    if not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters must be a positive int, got {iters!r}")

    def body(_, carry):
        x, r, p, rr = carry
        active = rr > residual_tol
        ap = matvec(p)
        alpha = jnp.where(active, rr / jnp.where(active, p @ ap, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = r @ r
        beta = jnp.where(active, rr_new / jnp.where(active, rr, 1.0), 0.0)
        p = jnp.where(active, r + beta * p, p)
        return x, r, p, jnp.where(active, rr_new, rr)

    x0 = jnp.zeros_like(b)
    x, *_ = jax.lax.fori_loop(0, iters, body, (x0, b, b, b @ b))
    return x


def max_step_scale(direction: Array, f_direction: Array, max_kl: Array | float) -> Array:
    """β = √(2δ / sᵀF s): the step β s reaches the KL radius δ under the quadratic model
    KL ≈ ½ (βs)ᵀ F (βs).

    Args:
      direction: ``[P]`` the search direction s (CG's solution of F s = g).
      f_direction: ``[P]`` F s.
      max_kl: the radius δ > 0.
    """
    chex.assert_rank([direction, f_direction], 1)
    shs = jnp.maximum(direction @ f_direction, 1e-12)
    return jnp.sqrt(2.0 * max_kl / shs)


class LineSearch(NamedTuple):
    params: Array  # [P] accepted parameters, or the old ones if no step was accepted
    accepted: Array  # bool
    step_fraction: Array  # the fraction of the full step taken (0 if none accepted)
    kl: Array  # mean KL at the returned parameters
    improvement: Array  # surrogate(returned) − surrogate(old)


def backtracking_line_search(
    objective_fn: Callable[[Array], Array],
    kl_fn: Callable[[Array], Array],
    params: Array,
    full_step: Array,
    max_kl: Array | float,
    num_backtracks: int = 10,
    shrink: Array | float = 0.5,
) -> LineSearch:
    """Try θ + shrinkᵏ · step for k = 0, …, K−1 and keep the first with mean KL ≤ δ and a
    surrogate objective (to maximize) above its value at θ; if none qualifies, keep θ.

    A ``while_loop`` that stops at the first acceptable step (under ``vmap`` it runs until
    every member of the batch has stopped; the others hold still). The returned parameters
    never have KL > δ.

    Reference: Schulman et al. (2015), appendix C.
    """
    chex.assert_rank([params, full_step], 1)
    chex.assert_equal_shape([params, full_step])
    if not isinstance(num_backtracks, int) or num_backtracks < 1:
        raise ValueError(f"num_backtracks must be a positive int, got {num_backtracks!r}")
    base = objective_fn(params)
    zero = jnp.zeros((), params.dtype)
    start = LineSearch(params, jnp.array(False), zero, kl_fn(params), zero)

    def cond(carry):
        k, result = carry
        return jnp.logical_and(k < num_backtracks, ~result.accepted)

    def body(carry):
        k, result = carry
        fraction = jnp.asarray(shrink, params.dtype) ** k
        candidate = params + fraction * full_step
        objective, kl = objective_fn(candidate), kl_fn(candidate)
        ok = (kl <= max_kl) & (objective > base) & jnp.isfinite(objective) & jnp.isfinite(kl)
        accepted = LineSearch(candidate, jnp.array(True), fraction, kl, objective - base)
        return k + 1, jax.tree.map(lambda a, b: jnp.where(ok, a, b), accepted, result)

    return jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), start))[1]


def dual_ascent(
    lam: Array | float, kl: Array | float, kl_target: Array | float, lr: Array | float
) -> Array:
    """Penalized TRPO's multiplier update λ ← max(0, λ + α (KL − ε)).

    Gradient ascent on the dual of max L(θ) s.t. KL ≤ ε: the penalty grows while the
    constraint is violated and shrinks (never below 0) while it is slack.
    """
    lam, kl, kl_target, lr = (jnp.asarray(x, jnp.float32) for x in (lam, kl, kl_target, lr))
    chex.assert_rank([lam, kl, kl_target, lr], 0)
    return jnp.maximum(0.0, lam + lr * (kl - kl_target))
