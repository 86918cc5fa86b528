"""Proximal Policy Optimization as a pure ``train(config, key)``.

One update collects ``num_steps`` transitions from each of ``num_envs`` environments with
the current policy, estimates advantages with GAE (bootstrapping from the final
observation at time-limit truncations, not at terminations), then runs ``num_epochs``
passes of ``num_minibatches`` minibatch gradient steps on

    L = −E[objective] + c_v · E[value loss] − c_e · E[entropy],

with global-norm gradient clipping and Adam, optionally annealing the learning rate
linearly to zero. The policy objective is chosen by ``objective``:

- ``"clip"``: L^CLIP = min(r Â, clip(r, 1 − ε, 1 + ε) Â)   (the default);
- ``"kl_fixed"``: r Â − β KL[π_old, π] with a fixed β;
- ``"kl_adaptive"``: the same with β adapted after each update toward ``kl_target``;
- ``"none"``: the unclipped surrogate r Â.

Discrete actions use a categorical policy, continuous ones a diagonal Gaussian with a
state-independent log-std (actions are clipped to the box only when sent to the
environment). Observations can be normalized by running statistics.

Reference: Schulman et al., "Proximal Policy Optimization Algorithms" (2017);
Huang et al., "The 37 Implementation Details of PPO" (ICLR blog track, 2022).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from purerl import envs, normalize
from purerl.config import (
    env_kwargs_field,
    hyperparameter,
    require,
    require_choice,
    require_hidden_sizes,
    require_positive_int,
    require_range,
    static,
)
from purerl.envs import episode_stats
from purerl.kernels import policy, returns
from purerl.kernels.distributions import CATEGORICAL, DIAG_GAUSSIAN
from purerl.nets import ACTIVATIONS, ActorCritic

OBJECTIVES = ("clip", "kl_fixed", "kl_adaptive", "none")


class Config(eqx.Module):
    """PPO hyperparameters. Defaults: the PPO paper's Atari/CartPole settings (4 envs × 128)."""

    env_id: str = static("CartPole-v1")
    env_kwargs: tuple = env_kwargs_field()
    num_envs: int = static(4)
    num_steps: int = static(128)
    total_timesteps: int = static(500_000)
    num_epochs: int = static(4)
    num_minibatches: int = static(4)
    hidden_sizes: tuple[int, ...] = eqx.field(default=(64, 64), static=True, converter=tuple)
    activation: str = static("tanh")
    shared_trunk: bool = static(False)
    objective: str = static("clip")
    anneal_lr: bool = static(True)
    normalize_obs: bool = static(False)
    normalize_advantages: bool = static(True)
    clip_value_loss: bool = static(True)

    lr: jax.Array = hyperparameter(2.5e-4)
    gamma: jax.Array = hyperparameter(0.99)
    gae_lambda: jax.Array = hyperparameter(0.95)
    clip_eps: jax.Array = hyperparameter(0.2)
    kl_beta: jax.Array = hyperparameter(1.0)
    kl_target: jax.Array = hyperparameter(0.01)
    ent_coef: jax.Array = hyperparameter(0.01)
    vf_coef: jax.Array = hyperparameter(0.5)
    max_grad_norm: jax.Array = hyperparameter(0.5)

    def __check_init__(self):
        envs.check_env_id(self.env_id, field="ppo.Config.env_id")
        require_positive_int(
            self, "num_envs", "num_steps", "total_timesteps", "num_epochs", "num_minibatches"
        )
        require(
            self,
            "total_timesteps",
            self.total_timesteps >= self.num_envs * self.num_steps,
            f"must be at least num_envs * num_steps = {self.num_envs * self.num_steps}",
        )
        require(
            self,
            "num_minibatches",
            (self.num_envs * self.num_steps) % self.num_minibatches == 0,
            f"must divide the batch num_envs * num_steps = {self.num_envs * self.num_steps}",
        )
        require_hidden_sizes(self)
        require_choice(self, "activation", sorted(ACTIVATIONS))
        require_choice(self, "objective", OBJECTIVES)
        require_range(self, "lr", 0.0, low_open=True)
        require_range(self, "gamma", 0.0, 1.0)
        require_range(self, "gae_lambda", 0.0, 1.0)
        require_range(self, "clip_eps", 0.0, low_open=True)
        require_range(self, "kl_beta", 0.0)
        require_range(self, "kl_target", 0.0, low_open=True)
        require_range(self, "ent_coef", 0.0)
        require_range(self, "vf_coef", 0.0)
        require_range(self, "max_grad_norm", 0.0, low_open=True)

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def steps_per_update(self) -> int:
        return self.batch_size

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.batch_size


class State(NamedTuple):
    model: ActorCritic
    opt_state: Any
    env_state: Any  # [num_envs] batched environment state
    obs: jax.Array  # [num_envs, *obs_shape] raw observations
    stats: episode_stats.EpisodeStats
    normalizer: normalize.NormalizerState
    kl_beta: jax.Array  # the penalty coefficient (adapted when objective="kl_adaptive")
    update_step: jax.Array
    key: jax.Array


class Transition(NamedTuple):
    obs: jax.Array  # policy input (normalized if enabled)
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    dist_params: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array  # raw observation the transition reached (before any reset)
    ep_return: jax.Array
    ep_length: jax.Array


class Batch(NamedTuple):
    obs: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    dist_params: Any
    advantage: jax.Array
    target: jax.Array


def _env(config: Config):
    return envs.make(config.env_id, **dict(config.env_kwargs))


def _dist(env):
    return CATEGORICAL if envs.is_discrete(env) else DIAG_GAUSSIAN


def _optimizer(config: Config) -> optax.GradientTransformation:
    steps_per_update = config.num_epochs * config.num_minibatches

    def learning_rate(count):
        if not config.anneal_lr:
            return config.lr
        return config.lr * (1.0 - (count // steps_per_update) / config.num_updates)

    return optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm),
        optax.scale_by_adam(eps=1e-5),
        optax.scale_by_learning_rate(learning_rate),
    )


def init(config: Config, key: jax.Array) -> State:
    """Build the network, optimizer, environments and trackers for one run."""
    env = _env(config)
    key, k_model, k_reset = jax.random.split(key, 3)
    discrete = envs.is_discrete(env)
    action_size = env.action_space.n if discrete else env.action_space.shape[0]
    model = ActorCritic(
        env.observation_shape[0],
        action_size,
        discrete,
        config.hidden_sizes,
        config.activation,
        config.shared_trunk,
        key=k_model,
    )
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_reset, config.num_envs))
    return State(
        model=model,
        opt_state=_optimizer(config).init(eqx.filter(model, eqx.is_array)),
        env_state=env_state,
        obs=obs,
        stats=episode_stats.init(config.num_envs),
        normalizer=normalize.init(env.observation_shape),
        kl_beta=config.kl_beta,
        update_step=jnp.zeros((), jnp.int32),
        key=key,
    )


def _rollout(config: Config, state: State, key: jax.Array):
    """Collect ``num_steps`` transitions from every environment: ``Transition`` of ``[T, N]``."""
    env = _env(config)
    dist = _dist(env)
    n = config.num_envs

    def policy_input(obs):
        return normalize.apply(state.normalizer, obs) if config.normalize_obs else obs

    def env_step(carry, step_key):
        env_state, obs, stats = carry
        k_act, k_env = jax.random.split(step_key)
        x = policy_input(obs)
        dist_params, value = jax.vmap(state.model)(x)
        action = jax.vmap(dist.sample)(jax.random.split(k_act, n), dist_params)
        logp = jax.vmap(dist.log_prob)(dist_params, action)
        env_action = action
        if not envs.is_discrete(env):
            env_action = jnp.clip(action, env.action_space.low, env.action_space.high)
        next_obs, env_state, reward, terminated, truncated, info = jax.vmap(env.step)(
            jax.random.split(k_env, n), env_state, env_action
        )
        stats, ep_return, ep_length = episode_stats.step(
            stats, reward, jnp.logical_or(terminated, truncated)
        )
        transition = Transition(
            x, action, logp, value, dist_params, reward, terminated, truncated,
            info["final_obs"], ep_return, ep_length,
        )  # fmt: skip
        return (env_state, next_obs, stats), transition

    (env_state, obs, stats), traj = jax.lax.scan(
        env_step,
        (state.env_state, state.obs, state.stats),
        jax.random.split(key, config.num_steps),
    )
    # V(s_{t+1}) from the observation each transition reached — the pre-reset one where an
    # episode ended — so truncated steps bootstrap correctly.
    flat_final = policy_input(traj.final_obs.reshape(-1, *traj.final_obs.shape[2:]))
    v_next = jax.vmap(state.model.value)(flat_final).reshape(traj.reward.shape)
    return traj, v_next, (env_state, obs, stats)


def _loss(config: Config, dist, kl_beta, model: ActorCritic, batch: Batch):
    dist_params, value = jax.vmap(model)(batch.obs)
    logp = jax.vmap(dist.log_prob)(dist_params, batch.action)
    ratio = policy.importance_ratio(logp, batch.logp)
    adv = batch.advantage
    if config.normalize_advantages:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    if config.objective in ("kl_fixed", "kl_adaptive"):
        kl = jax.vmap(dist.kl)(batch.dist_params, dist_params)
        objective = policy.kl_penalized_objective(ratio, adv, kl, kl_beta)
    else:
        # Only a diagnostic here: the k3 estimator (r − 1) − log r of KL[π_old, π], which
        # needs no second pass over the old distribution parameters.
        kl = (ratio - 1.0) - (logp - batch.logp)
        if config.objective == "clip":
            objective = policy.clipped_surrogate_objective(ratio, adv, config.clip_eps)
        else:
            objective = policy.surrogate_objective(ratio, adv)
    v_loss = policy.value_loss(
        value,
        batch.target,
        batch.value,
        config.clip_eps if config.clip_value_loss else None,
    )
    entropy = jax.vmap(dist.entropy)(dist_params)
    pg_loss = -jnp.mean(objective)
    v_loss = jnp.mean(v_loss)
    total = (
        pg_loss + config.vf_coef * v_loss + config.ent_coef * jnp.mean(policy.entropy_loss(entropy))
    )
    metrics = {
        "loss/total": total,
        "loss/policy": pg_loss,
        "loss/value": v_loss,
        "entropy": jnp.mean(entropy),
        "kl": jnp.mean(kl),
        "clip_fraction": jnp.mean(jnp.abs(ratio - 1.0) > config.clip_eps),
    }
    return total, metrics


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """One PPO iteration: a rollout, GAE, then ``num_epochs`` × ``num_minibatches`` steps."""
    env = _env(config)
    dist = _dist(env)
    tx = _optimizer(config)
    key, k_roll, k_epochs = jax.random.split(state.key, 3)

    traj, v_next, (env_state, obs, stats) = _rollout(config, state, k_roll)
    discount = config.gamma * (1.0 - traj.terminated.astype(jnp.float32))
    gae_per_env = jax.vmap(returns.gae, in_axes=(1, 1, 1, 1, None, 1), out_axes=1)
    advantage = gae_per_env(
        traj.reward, discount, traj.value, v_next, config.gae_lambda, traj.truncated
    )
    flatten = lambda x: x.reshape(config.batch_size, *x.shape[2:])  # noqa: E731
    batch = jax.tree.map(
        flatten,
        Batch(traj.obs, traj.action, traj.logp, traj.value, traj.dist_params, advantage,
              advantage + traj.value),
    )  # fmt: skip

    grad_fn = eqx.filter_value_and_grad(
        lambda m, b: _loss(config, dist, state.kl_beta, m, b), has_aux=True
    )

    def minibatch_step(carry, minibatch):
        model, opt_state = carry
        (_, metrics), grads = grad_fn(model, minibatch)
        updates, opt_state = tx.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        model = eqx.apply_updates(model, updates)
        return (model, opt_state), {**metrics, "grad_norm": optax.tree.norm(grads)}

    def epoch(carry, epoch_key):
        perm = jax.random.permutation(epoch_key, config.batch_size)
        minibatches = jax.tree.map(
            lambda x: x[perm].reshape(config.num_minibatches, -1, *x.shape[1:]), batch
        )
        return jax.lax.scan(minibatch_step, carry, minibatches)

    (model, opt_state), metrics = jax.lax.scan(
        epoch, (state.model, state.opt_state), jax.random.split(k_epochs, config.num_epochs)
    )
    metrics = jax.tree.map(jnp.mean, metrics)

    kl_beta = state.kl_beta
    if config.objective == "kl_adaptive":
        kl_beta = policy.adaptive_kl_coefficient(kl_beta, metrics["kl"], config.kl_target)
    normalizer = state.normalizer
    if config.normalize_obs:
        normalizer = normalize.update(normalizer, traj.final_obs)
    done = jnp.logical_or(traj.terminated, traj.truncated)
    stats = episode_stats.record(stats, done, traj.ep_return, traj.ep_length)
    update_step = state.update_step + 1
    metrics = {
        **metrics,
        **episode_stats.summary(stats),
        "env_steps": update_step * config.batch_size,
        "kl_beta": kl_beta,
    }
    state = State(model, opt_state, env_state, obs, stats, normalizer, kl_beta, update_step, key)
    return state, metrics


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan``.

    Returns the final state and metrics with a leading axis of updates.
    """
    state = init(config, key)
    return jax.lax.scan(lambda s, _: update(config, s), state, None, length=config.num_updates)
