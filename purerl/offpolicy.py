"""What DDPG, TD3 and SAC share: the Config fields' rules, the replay buffer of one-step
transitions, collection with uniform random actions until learning starts, the masked
sequence of gradient steps, and the truncation-correct discount.

Every update steps ``num_envs`` environments ``num_steps`` times, stores the transitions
and then takes ``gradient_steps`` minibatch steps (once ``learning_starts`` environment
steps have been taken; before, the steps are computed and masked out, as in DQN: under a
seed ``vmap`` a ``lax.cond`` would compute both branches anyway).

A stored transition's ``next_obs`` is the observation the step reached *before* any
automatic reset, and its ``discount`` is γ, or 0 only where the episode *terminated*: at a
time-limit truncation the target bootstraps from the final observation. With
``bootstrap_truncated=False`` a truncation is treated as a termination (what PureJaxRL and
rejax do); it exists for ablations such as ``bench/truncation.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl import buffers, envs, rollout
from purerl import config as cfg
from purerl.envs import episode_stats
from purerl.kernels import continuous


class Transition(NamedTuple):
    """One replayed step."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    discount: jax.Array  # γ, 0 where terminated (and where truncated without bootstrapping)
    next_obs: jax.Array  # the observation reached, before any reset


class State(NamedTuple):
    """The state of DDPG, TD3 and SAC; ``nets`` is each algorithm's own (with ``actor``)."""

    nets: Any
    replay: buffers.Buffer
    rollout: rollout.Carry
    env_steps: jax.Array
    key: jax.Array


def check(config) -> None:
    """The rules every off-policy continuous-control Config adds to its fields' own."""
    env = envs.from_config(config)
    cfg.require(
        config,
        "env_id",
        not envs.is_discrete(env),
        "must have a continuous (Box) action space",
    )
    cfg.require(
        config,
        "buffer_size",
        config.buffer_size >= max(config.batch_size, config.steps_per_update),
        "must hold at least batch_size and num_envs * num_steps items",
    )
    cfg.require_learning_starts(config)


def action_box(env: envs.Environment) -> tuple[jax.Array, jax.Array]:
    """The action box's ``(low, high)`` as arrays."""
    return jnp.asarray(env.action_space.low), jnp.asarray(env.action_space.high)


def init_replay(env: envs.Environment, obs: jax.Array, buffer_size: int) -> buffers.Buffer:
    """An empty buffer of ``Transition`` s shaped like one of ``obs`` ``[N, ...]``."""
    action = jnp.zeros(env.action_space.shape, jnp.float32)
    item = Transition(obs[0], action, jnp.float32(0), jnp.float32(0), obs[0])
    return buffers.init(item, buffer_size)


def start(config, env: envs.Environment, nets: Any, key: jax.Array, reset_key: jax.Array) -> State:
    """The initial ``State``: fresh episodes in ``num_envs`` environments (from
    ``reset_key``), an empty replay buffer, no steps taken; ``key`` drives the updates."""
    carry = rollout.reset(env, reset_key, config.num_envs)
    replay = init_replay(env, carry.obs, config.buffer_size)
    return State(nets, replay, carry, jnp.zeros((), jnp.int32), key)


def store(config, replay: buffers.Buffer, traj: rollout.Transition) -> buffers.Buffer:
    """Add a rollout's ``[T, N]`` steps as ``Transition`` s (see the module note)."""
    ends = traj.terminated
    if not config.bootstrap_truncated:
        ends = traj.done
    items = Transition(
        obs=traj.obs,
        action=traj.action,
        reward=traj.reward,
        discount=config.gamma * (1.0 - ends.astype(jnp.float32)),
        next_obs=traj.final_obs,
    )
    return buffers.add(replay, rollout.flatten(items))


def uniform_action(env: envs.Environment, key: jax.Array) -> jax.Array:
    """An action drawn uniformly from the box."""
    low, high = action_box(env)
    return jax.random.uniform(key, env.action_space.shape, minval=low, maxval=high)


def random_action(env: envs.Environment, key: jax.Array) -> jax.Array:
    """An action drawn uniformly from the environment's action space, discrete or a box."""
    if envs.is_discrete(env):
        return jax.random.randint(key, (), 0, env.action_space.n)
    return uniform_action(env, key)


def random_policy(env: envs.Environment) -> rollout.Policy:
    """Uniformly random actions (``random_action``) as a ``rollout.Policy``."""
    return lambda obs, key: (random_action(env, key), {})


def exploring(
    config, env: envs.Environment, act: rollout.Policy, env_steps: jax.Array
) -> rollout.Policy:
    """``act``, or uniform random actions while fewer than ``learning_starts`` environment
    steps have been taken (the replay buffer is filled with random experience first)."""

    def explore(obs, key):
        k_act, k_random = jax.random.split(key)
        action, extras = act(obs, k_act)
        random = env_steps < config.learning_starts
        return jnp.where(random, uniform_action(env, k_random), action), extras

    return explore


def collect(config, act: rollout.Policy, state, key: jax.Array):
    """Collect one update's steps with ``exploring(act)`` and store them.

    Returns ``(traj [T, N], carry, replay, env_steps after the update)``."""
    env = envs.from_config(config)
    policy = exploring(config, env, act, state.env_steps)
    traj, carry = rollout.collect(env, policy, state.rollout, key, config.num_steps)
    replay = store(config, state.replay, traj)
    return traj, carry, replay, state.env_steps + config.steps_per_update


def follow(online, target, tau: jax.Array, due: jax.Array | bool = True):
    """The target network after a Polyak step θ⁻ ← τ θ + (1 − τ) θ⁻, taken where ``due``.
    ``online`` and ``target`` are modules whose leaves are all arrays."""
    mixed = continuous.polyak(online, target, tau)
    return jax.tree.map(lambda m, t: jnp.where(due, m, t), mixed, target)


def gradient_steps(
    config,
    step: Callable[[Any, Transition, jax.Array], tuple[Any, dict[str, jax.Array]]],
    nets: Any,
    replay: buffers.Buffer,
    ready: jax.Array,
    key: jax.Array,
) -> tuple[Any, dict[str, jax.Array]]:
    """``config.gradient_steps`` × ``step(nets, batch, key)`` on uniform minibatches, kept
    only where ``ready`` (else ``nets`` is returned unchanged and the metrics are 0).
    Returns the networks and the metrics averaged over the steps."""

    def one(nets, k):
        k_batch, k_step = jax.random.split(k)
        batch, _ = buffers.sample(replay, k_batch, config.batch_size)
        new, metrics = step(nets, batch, k_step)
        new = jax.tree.map(lambda n, o: jnp.where(ready, n, o), new, nets)
        return new, jax.tree.map(lambda x: jnp.where(ready, x, 0.0), metrics)

    nets, metrics = jax.lax.scan(one, nets, jax.random.split(key, config.gradient_steps))
    return nets, jax.tree.map(jnp.mean, metrics)


def update(config, state: State, behaviour_policy, gradient_step):
    """One update of an off-policy actor-critic (``state.nets.actor.model`` acts): collect
    with ``behaviour_policy(config, actor)``, then ``gradient_steps`` ×
    ``gradient_step(config, nets, batch, key)``. Returns ``(state, metrics)``."""
    key, k_collect, k_learn = jax.random.split(state.key, 3)
    act = behaviour_policy(config, state.nets.actor.model)
    traj, carry, replay, env_steps = collect(config, act, state, k_collect)
    ready = env_steps >= config.learning_starts
    step = lambda nets, batch, k: gradient_step(config, nets, batch, k)  # noqa: E731
    nets, metrics = gradient_steps(config, step, state.nets, replay, ready, k_learn)
    stats = rollout.record(carry.stats, traj)
    metrics = {**metrics, **episode_stats.summary(stats), "env_steps": env_steps}
    return State(nets, replay, carry._replace(stats=stats), env_steps, key), metrics
