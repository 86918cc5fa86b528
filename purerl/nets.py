"""Equinox networks: MLP trunks, policy heads and actor-critics.

Forward passes are unbatched (one observation); algorithms ``vmap``. Linear layers use
orthogonal initialization with a per-layer gain (√2 in hidden layers, 0.01 for policy
outputs, 1 for values), which matters for on-policy methods (Andrychowicz et al., "What
Matters in On-Policy RL", 2021).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jax.nn.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
}


def orthogonal(key: jax.Array, shape: tuple[int, int], gain: float = 1.0) -> jax.Array:
    """A random ``shape`` matrix with orthonormal rows or columns, times ``gain``.

    Gram–Schmidt (applied twice per column for stability) on a Gaussian matrix: the same
    Haar distribution as QR with a positive-diagonal R. Written with plain XLA ops because
    a batched LAPACK QR (``jax.nn.initializers.orthogonal`` under ``vmap`` over seeds)
    was seen to deadlock XLA:CPU's intra-op thread pool: two QR thunks each block a pool
    thread waiting for sub-tasks that no free thread can run.
    """
    rows, cols = shape
    n, m = max(rows, cols), min(rows, cols)
    a = jax.random.normal(key, (n, m), jnp.float32)

    def add_column(i, q):
        v = a[:, i]
        earlier = (jnp.arange(m) < i).astype(a.dtype)
        for _ in range(2):
            v = v - q @ ((q.T @ v) * earlier)
        return q.at[:, i].set(v / jnp.linalg.norm(v))

    q = jax.lax.fori_loop(0, m, add_column, jnp.zeros((n, m), jnp.float32))
    return gain * (q if rows >= cols else q.T)


class Linear(eqx.Module):
    """y = x Wᵀ + b, with ``eqx.nn.Linear``'s parameters: ``weight`` ``[out, in]``,
    ``bias`` ``[out]``.

    ``eqx.nn.Linear`` computes W x; under ``vmap`` that product comes out ``[out, B]`` and
    XLA:CPU adds a transpose to ``[B, out]`` after every layer (and another in its
    gradient). x Wᵀ keeps the batch the leading axis of every product.
    """

    weight: jax.Array
    bias: jax.Array | None  # None: no bias

    @property
    def in_features(self) -> int:
        return self.weight.shape[1]

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]

    def __call__(self, x: jax.Array) -> jax.Array:
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias


def uniform_linear(in_size: int, out_size: int, use_bias: bool = True, *, key) -> Linear:
    """A linear layer with ``eqx.nn.Linear``'s initialization (weights and bias uniform in
    ±1/√in)."""
    layer = eqx.nn.Linear(in_size, out_size, use_bias=use_bias, key=key)
    return Linear(layer.weight, layer.bias)


def orthogonal_linear(in_size: int, out_size: int, gain: float, *, key: jax.Array) -> Linear:
    """A linear layer with orthogonal weights (drawn with ``key``) scaled by ``gain``, and
    zero bias."""
    return Linear(orthogonal(key, (out_size, in_size), gain), jnp.zeros(out_size, jnp.float32))


class MLP(eqx.Module):
    """x ↦ act(W_k … act(W_1 x)): hidden layers only, output size ``hidden_sizes[-1]``."""

    layers: tuple[Linear, ...]
    activation: Callable[[jax.Array], jax.Array] = eqx.field(static=True)

    def __init__(self, in_size: int, hidden_sizes: tuple[int, ...], activation: str, *, key):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = (in_size, *hidden_sizes)
        keys = jax.random.split(key, max(len(hidden_sizes), 1))
        self.layers = tuple(
            orthogonal_linear(a, b, math.sqrt(2.0), key=k)
            for a, b, k in zip(sizes[:-1], sizes[1:], keys)
        )
        self.activation = ACTIVATIONS[activation]

    @property
    def out_size(self) -> int:
        return self.layers[-1].out_features

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers:
            x = self.activation(layer(x))
        return x


class CategoricalHead(eqx.Module):
    """Features ↦ logits ``[n]``."""

    linear: Linear

    def __init__(self, in_size: int, num_actions: int, *, key):
        self.linear = orthogonal_linear(in_size, num_actions, 0.01, key=key)

    def __call__(self, features: jax.Array) -> jax.Array:
        return self.linear(features)


class GaussianHead(eqx.Module):
    """Features ↦ (mean ``[D]``, log_std ``[D]``) with a state-independent learned log-std."""

    linear: Linear
    log_std: jax.Array

    def __init__(self, in_size: int, action_dim: int, init_log_std: float = 0.0, *, key):
        self.linear = orthogonal_linear(in_size, action_dim, 0.01, key=key)
        self.log_std = jnp.full((action_dim,), init_log_std, jnp.float32)

    def __call__(self, features: jax.Array) -> tuple[jax.Array, jax.Array]:
        return self.linear(features), self.log_std


class ActorCritic(eqx.Module):
    """Policy and value networks with separate trunks, or one shared trunk.

    ``__call__(obs)`` returns ``(dist_params, value)``: logits for a categorical head,
    ``(mean, log_std)`` for a Gaussian head, and a scalar value.
    """

    actor_trunk: MLP
    critic_trunk: MLP | None  # None: the critic shares the actor's trunk
    policy_head: CategoricalHead | GaussianHead
    value_head: Linear

    def __init__(
        self,
        obs_size: int,
        action_size: int,
        discrete: bool,
        hidden_sizes: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        shared_trunk: bool = False,
        *,
        key,
    ):
        k_actor, k_critic, k_pi, k_v = jax.random.split(key, 4)
        self.actor_trunk = MLP(obs_size, hidden_sizes, activation, key=k_actor)
        self.critic_trunk = (
            None if shared_trunk else MLP(obs_size, hidden_sizes, activation, key=k_critic)
        )
        width = self.actor_trunk.out_size
        head = CategoricalHead if discrete else GaussianHead
        self.policy_head = head(width, action_size, key=k_pi)
        self.value_head = orthogonal_linear(width, 1, 1.0, key=k_v)

    def _critic_features(self, obs: jax.Array, actor_features: jax.Array | None) -> jax.Array:
        if self.critic_trunk is None:
            return self.actor_trunk(obs) if actor_features is None else actor_features
        return self.critic_trunk(obs)

    def __call__(self, obs: jax.Array):
        features = self.actor_trunk(obs)
        value = self.value_head(self._critic_features(obs, features))[0]
        return self.policy_head(features), value

    def value(self, obs: jax.Array) -> jax.Array:
        return self.value_head(self._critic_features(obs, None))[0]


class QNetwork(eqx.Module):
    """obs ↦ Q(obs, ·) ``[A]``: an MLP trunk and a linear head, or a dueling head
    Q = V + A − agg_a A with ``aggregation`` "mean" or "max" (Wang et al., 2016)."""

    trunk: MLP
    head: Linear  # advantages (dueling) or Q-values
    value_head: Linear | None
    aggregation: str = eqx.field(static=True)

    def __init__(
        self,
        obs_size: int,
        num_actions: int,
        hidden_sizes: tuple[int, ...] = (120, 84),
        activation: str = "relu",
        dueling: bool = False,
        aggregation: str = "mean",
        *,
        key,
    ):
        k_trunk, k_head, k_value = jax.random.split(key, 3)
        self.trunk = MLP(obs_size, hidden_sizes, activation, key=k_trunk)
        width = self.trunk.out_size
        self.head = orthogonal_linear(width, num_actions, 1.0, key=k_head)
        self.value_head = orthogonal_linear(width, 1, 1.0, key=k_value) if dueling else None
        self.aggregation = aggregation

    def __call__(self, obs: jax.Array) -> jax.Array:
        from purerl.kernels.value import dueling

        features = self.trunk(obs)
        out = self.head(features)
        if self.value_head is None:
            return out
        return dueling(self.value_head(features)[0], out, self.aggregation)


# --- continuous control: Q(s, a) critics and actors on a box ----------------------------------


class QCritic(eqx.Module):
    """(obs, action) ↦ Q(s, a), a scalar: an MLP on the concatenation."""

    trunk: MLP
    head: Linear

    def __init__(
        self,
        obs_size: int,
        action_size: int,
        hidden_sizes: tuple[int, ...],
        activation: str,
        *,
        key,
    ):
        k_trunk, k_head = jax.random.split(key)
        self.trunk = MLP(obs_size + action_size, hidden_sizes, activation, key=k_trunk)
        self.head = orthogonal_linear(self.trunk.out_size, 1, 1.0, key=k_head)

    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        return self.head(self.trunk(jnp.concatenate([obs, action])))[0]


def critic_ensemble(size: int, *args, key) -> QCritic:
    """``size`` independent ``QCritic(*args)`` stacked into one module whose array leaves
    have a leading ``[size]`` axis (TD3/SAC's twin critics: one batched forward pass)."""
    return eqx.filter_vmap(lambda k: QCritic(*args, key=k))(jax.random.split(key, size))


def ensemble_values(critics: QCritic, obs: jax.Array, action: jax.Array) -> jax.Array:
    """Q_e(obs, action) of every critic of a ``critic_ensemble``: ``[size]``."""
    return eqx.filter_vmap(lambda c: c(obs, action))(critics)


class DeterministicActor(eqx.Module):
    """obs ↦ μ(obs) = c + h tanh(W · MLP(obs)) inside the action box (c, h: its centre and
    half-widths)."""

    trunk: MLP
    head: Linear
    center: tuple[float, ...] = eqx.field(static=True)  # constants, not parameters
    half: tuple[float, ...] = eqx.field(static=True)

    def __init__(self, obs_size: int, low, high, hidden_sizes, activation: str, *, key):
        k_trunk, k_head = jax.random.split(key)
        self.trunk = MLP(obs_size, hidden_sizes, activation, key=k_trunk)
        low, high = (np.asarray(b, np.float64).reshape(-1) for b in (low, high))
        self.head = orthogonal_linear(self.trunk.out_size, low.shape[0], 0.01, key=k_head)
        self.center = tuple(float(x) for x in (high + low) / 2.0)
        self.half = tuple(float(x) for x in (high - low) / 2.0)

    def __call__(self, obs: jax.Array) -> jax.Array:
        center, half = jnp.asarray(self.center), jnp.asarray(self.half)
        return center + half * jnp.tanh(self.head(self.trunk(obs)))


class SquashedGaussianActor(eqx.Module):
    """obs ↦ (mean ``[D]``, log_std ``[D]``) of the pre-squash Gaussian (both state-dependent);
    log_std is squashed into [``LOG_STD_MIN``, ``LOG_STD_MAX``] with a tanh as in CleanRL's
    SAC. ``kernels.distributions.squashed_gaussian_*`` map it onto the action box."""

    LOG_STD_MIN = -5.0
    LOG_STD_MAX = 2.0
    trunk: MLP
    mean: Linear
    log_std: Linear

    def __init__(self, obs_size: int, action_size: int, hidden_sizes, activation: str, *, key):
        k_trunk, k_mean, k_std = jax.random.split(key, 3)
        self.trunk = MLP(obs_size, hidden_sizes, activation, key=k_trunk)
        self.mean = orthogonal_linear(self.trunk.out_size, action_size, 0.01, key=k_mean)
        self.log_std = orthogonal_linear(self.trunk.out_size, action_size, 0.01, key=k_std)

    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        features = self.trunk(obs)
        lo, hi = self.LOG_STD_MIN, self.LOG_STD_MAX
        log_std = lo + 0.5 * (hi - lo) * (jnp.tanh(self.log_std(features)) + 1.0)
        return self.mean(features), log_std
