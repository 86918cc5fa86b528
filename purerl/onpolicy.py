"""What the on-policy actor-critic algorithms (PPO, REINFORCE/A2C, TRPO) share, called by name.

- ``start``: the actor-critic, fresh environments, an empty observation normalizer;
- ``sample_policy`` / ``greedy_policy``: the actor-critic as a policy for
  ``rollout.collect`` (a sample, with its log-probability, value and distribution as
  extras) and for evaluation (the distribution's mode);
- ``collect``: a rollout plus V(s') of every state reached — the final observation's value
  where an episode ended, so that truncations bootstrap correctly;
- ``gae``: GAE(λ) per environment; ``gae_rollout``: a rollout with its advantages;
- ``minibatch_epochs``: epochs over a batch in shuffled minibatches;
- ``end_update``: the episode statistics, the normalizer, the counters and the shared
  metrics at the end of every update.

The state of each algorithm is its own ``NamedTuple``; these helpers read and write the
fields they share by name (``model``, ``rollout``, ``normalizer``, ``update_step``, ``key``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl import envs, normalize, rollout
from purerl.envs import episode_stats
from purerl.kernels import returns
from purerl.kernels.distributions import CATEGORICAL, DIAG_GAUSSIAN, DistributionOps
from purerl.nets import ActorCritic


class Extras(NamedTuple):
    """What the sampling policy records with each action."""

    logp: jax.Array  # log π_old(a|s)
    value: jax.Array  # V(s)
    dist_params: Any  # π_old(·|s): logits, or (mean, log_std)


class State(NamedTuple):
    """The state of an actor-critic trained by one optimizer (REINFORCE/A2C's; PPO and TRPO
    extend it with their own fields)."""

    model: ActorCritic
    opt_state: Any
    rollout: rollout.Carry  # [num_envs] environments and their episode statistics
    normalizer: normalize.NormalizerState
    update_step: jax.Array
    key: jax.Array


class Start(NamedTuple):
    """The parts of a fresh on-policy state every algorithm has."""

    model: ActorCritic
    rollout: rollout.Carry
    normalizer: normalize.NormalizerState
    update_step: jax.Array
    key: jax.Array


def distribution(env: envs.Environment) -> DistributionOps:
    """Categorical for discrete action spaces, diagonal Gaussian for boxes."""
    return CATEGORICAL if envs.is_discrete(env) else DIAG_GAUSSIAN


def actor_critic(env: envs.Environment, hidden_sizes, activation, shared_trunk, key) -> ActorCritic:
    """An ``ActorCritic`` sized for ``env``: categorical head if discrete, Gaussian if not."""
    discrete = envs.is_discrete(env)
    action_size = env.action_space.n if discrete else env.action_space.shape[0]
    return ActorCritic(
        env.observation_shape[0],
        action_size,
        discrete,
        tuple(hidden_sizes),
        activation,
        shared_trunk,
        key=key,
    )


def start(env: envs.Environment, config, key: jax.Array, shared_trunk: bool) -> Start:
    """Network (``config.hidden_sizes``, ``config.activation``), ``config.num_envs`` fresh
    environments and trackers; the returned key continues the run's key stream."""
    key, k_model, k_reset = jax.random.split(key, 3)
    return Start(
        model=actor_critic(env, config.hidden_sizes, config.activation, shared_trunk, k_model),
        rollout=rollout.reset(env, k_reset, config.num_envs),
        normalizer=normalize.init(env.observation_shape),
        update_step=jnp.zeros((), jnp.int32),
        key=key,
    )


def policy_input(normalizer: normalize.NormalizerState | None, obs: jax.Array) -> jax.Array:
    """The observation standardized by ``normalizer`` (unchanged when it is None)."""
    return obs if normalizer is None else normalize.apply(normalizer, obs)


def sample_policy(
    model: ActorCritic, dist: DistributionOps, normalizer: normalize.NormalizerState | None
) -> rollout.Policy:
    """``act(obs, key)``: a ~ π(·|s), with ``Extras(log π(a|s), V(s), π's parameters)``."""

    def act(obs, key):
        dist_params, value = model(policy_input(normalizer, obs))
        action = dist.sample(key, dist_params)
        return action, Extras(dist.log_prob(dist_params, action), value, dist_params)

    return act


def greedy_policy(config, state) -> rollout.Policy:
    """The deterministic policy of an on-policy state: the mode of π(·|s) (argmax of the
    logits, the first on ties; the Gaussian's mean)."""
    env = envs.from_config(config)
    dist = distribution(env)
    normalizer = state.normalizer if config.normalize_obs else None

    def act(obs, key):
        dist_params, _ = state.model(policy_input(normalizer, obs))
        return dist.mode(dist_params), {}

    return act


def collect(
    env: envs.Environment,
    model: ActorCritic,
    carry: rollout.Carry,
    key: jax.Array,
    num_steps: int,
    normalizer: normalize.NormalizerState | None = None,
) -> tuple[rollout.Transition, jax.Array, rollout.Carry]:
    """Sample ``num_steps`` steps from ``model``; returns ``(trajectory [T, N], V(s') [T, N],
    carry)`` with V(s') the value of the observation each transition reached (before any
    reset). Observations are standardized by ``normalizer`` when given."""
    act = sample_policy(model, distribution(env), normalizer)
    traj, carry = rollout.collect(env, act, carry, key, num_steps)
    final = traj.final_obs.reshape(-1, *traj.final_obs.shape[2:])
    v_next = jax.vmap(model.value)(policy_input(normalizer, final)).reshape(traj.reward.shape)
    return traj, v_next, carry


def gae(
    traj: rollout.Transition, v_next: jax.Array, gamma: jax.Array, lambda_: jax.Array
) -> jax.Array:
    """GAE(λ) advantages ``[T, N]`` of a rollout, per environment (``returns.gae``)."""
    return rollout.per_env(
        returns.gae, traj.reward, rollout.discount(traj, gamma), traj.extras.value, v_next,
        lambda_, traj.truncated,
    )  # fmt: skip


class Rollout(NamedTuple):
    """A rollout of the current policy with its advantages, ready for a policy update."""

    traj: rollout.Transition  # [T, N]
    obs: jax.Array  # [T, N, ...] the policy's inputs (standardized when normalizing)
    advantage: jax.Array  # [T, N] GAE(λ)
    carry: rollout.Carry  # where the environments are now


def gae_rollout(config, state, key: jax.Array) -> Rollout:
    """``config.num_steps`` steps of ``state.model`` in ``state.rollout``'s environments, with
    GAE(``config.gamma``, ``config.gae_lambda``) advantages."""
    normalizer = state.normalizer if config.normalize_obs else None
    env = envs.from_config(config)
    traj, v_next, carry = collect(
        env, state.model, state.rollout, key, config.num_steps, normalizer
    )
    advantage = gae(traj, v_next, config.gamma, config.gae_lambda)
    return Rollout(traj, policy_input(normalizer, traj.obs), advantage, carry)


def minibatch_epochs(
    key: jax.Array,
    batch: Any,
    num_epochs: int,
    num_minibatches: int,
    step_fn: Callable[[Any, Any], tuple[Any, Any]],
    carry: Any,
) -> tuple[Any, Any]:
    """``num_epochs`` passes over ``batch`` (a pytree with a leading sample axis), each in a
    fresh random order cut into ``num_minibatches`` equal minibatches, with
    ``step_fn(carry, minibatch) -> (carry, metrics)`` on each.

    Returns the final carry and the metrics stacked ``[num_epochs, num_minibatches, ...]``.
    """
    size = jax.tree.leaves(batch)[0].shape[0]

    def epoch(carry, epoch_key):
        perm = jax.random.permutation(epoch_key, size)
        minibatches = jax.tree.map(
            lambda x: x[perm].reshape(num_minibatches, -1, *x.shape[1:]), batch
        )
        return jax.lax.scan(step_fn, carry, minibatches)

    return jax.lax.scan(epoch, carry, jax.random.split(key, num_epochs))


def end_update(config, state, traj: rollout.Transition, carry: rollout.Carry, key, metrics):
    """Close an update of ``state`` (any on-policy state): the rollout's finished episodes
    enter the statistics, the normalizer takes in its observations (if
    ``config.normalize_obs``), the update counter and key move on, and ``metrics`` gain the
    shared keys ``episode_return``, ``episode_length``, ``episodes`` and ``env_steps``."""
    stats = rollout.record(carry.stats, traj)
    normalizer = state.normalizer
    if config.normalize_obs:
        normalizer = normalize.update(normalizer, traj.final_obs)
    update_step = state.update_step + 1
    state = state._replace(
        rollout=carry._replace(stats=stats),
        normalizer=normalizer,
        update_step=update_step,
        key=key,
    )
    env_steps = update_step * config.steps_per_update
    return state, {**metrics, **episode_stats.summary(stats), "env_steps": env_steps}
