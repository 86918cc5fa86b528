"""Soft Actor-Critic as one pure ``train(config, key)``.

A squashed-Gaussian actor π_φ (a = c + h tanh(u), u ~ N(μ_φ(s), σ_φ(s)²), onto the action
box), an ensemble of ``num_critics`` critics and a temperature α learn from a replay
buffer (``purerl.offpolicy``: uniform random actions for the first ``learning_starts``
environment steps). Each gradient step on a minibatch, with a' ~ π_φ(·|s'), a ~ π_φ(·|s):

    y    = r + γ_d (min_e Q_θe⁻(s', a') − α log π_φ(a'|s'))       soft target
    L(θ) = Σ_e mean ½ (y − Q_θe(s, a_data))²
    L(φ) = mean α log π_φ(a|s) − min_e Q_θe(s, a)                   (reparameterized)
    L(α) = mean −α (log π_φ(a|s) + H̄),   H̄ = −scale · |A|          (``autotune``)

then the target critics move by Polyak averaging with ``tau``. log π includes the
tanh and box change of variables (``kernels.distributions.squashed_gaussian_log_prob``),
so H̄ is an entropy of actions on the real box. γ_d is γ, or 0 where the episode
terminated; a time-limit truncation bootstraps from the final observation. With
``autotune=False`` α stays at ``alpha``. Evaluation uses the squashed mean c + h tanh(μ).

Reference: Haarnoja et al., "Soft Actor-Critic Algorithms and Applications" (2018).
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from purerl import config as cfg
from purerl import envs, loop, offpolicy, optim, rollout
from purerl.algos.td3 import critic_loss
from purerl.kernels import continuous, distributions
from purerl.nets import (
    ACTIVATIONS,
    QCritic,
    SquashedGaussianActor,
    critic_ensemble,
    ensemble_values,
)
from purerl.offpolicy import State


class Config(eqx.Module):
    """SAC hyperparameters. Defaults: the paper's (CleanRL's), with a smaller budget."""

    env_id: str = cfg.environment("Pendulum-v1")
    env_kwargs: tuple = cfg.env_kwargs_field()
    num_envs: int = cfg.count(1)
    num_steps: int = cfg.count(1)  # vectorized environment steps per update
    gradient_steps: int = cfg.count(1)  # minibatch steps per update
    total_timesteps: int = cfg.count(100_000)
    buffer_size: int = cfg.count(100_000)
    batch_size: int = cfg.count(256)
    learning_starts: int = cfg.count(5_000, minimum=0)  # random-action steps first
    hidden_sizes: tuple[int, ...] = cfg.sizes((256, 256))
    activation: str = cfg.choice("relu", tuple(sorted(ACTIVATIONS)))
    num_critics: int = cfg.count(2)
    autotune: bool = cfg.flag(True)  # learn α towards the target entropy
    bootstrap_truncated: bool = cfg.flag(True)  # False: time limits as terminal (ablation)
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(10)

    actor_lr: jax.Array = cfg.hyperparameter(3e-4, 0.0, low_open=True)
    critic_lr: jax.Array = cfg.hyperparameter(1e-3, 0.0, low_open=True)
    alpha_lr: jax.Array = cfg.hyperparameter(1e-3, 0.0, low_open=True)
    gamma: jax.Array = cfg.hyperparameter(0.99, 0.0, 1.0)
    tau: jax.Array = cfg.hyperparameter(0.005, 0.0, 1.0, low_open=True)
    alpha: jax.Array = cfg.hyperparameter(1.0, 0.0, low_open=True)  # initial (or fixed) α
    target_entropy_scale: jax.Array = cfg.hyperparameter(1.0)  # H̄ = −scale · |A|
    max_grad_norm: jax.Array = cfg.hyperparameter(float("inf"), 0.0, low_open=True, allow_inf=True)

    def __check_init__(self):
        cfg.validate(self)
        offpolicy.check(self)

    steps_per_update = cfg.steps_per_update_property
    num_updates = cfg.num_updates_property


class Nets(NamedTuple):
    """What a gradient step changes."""

    actor: optim.Learner
    critic: optim.Learner  # an ensemble: array leaves [num_critics, ...]
    log_alpha: optim.Learner  # the temperature, as log α
    target_critic: QCritic


def _optimizers(config: Config) -> tuple[optax.GradientTransformation, ...]:
    return (
        optim.clipped_adam(config.actor_lr, config.max_grad_norm),
        optim.clipped_adam(config.critic_lr, config.max_grad_norm),
        optim.clipped_adam(config.alpha_lr, config.max_grad_norm),
    )


def init(config: Config, key: jax.Array) -> State:
    env = envs.from_config(config)
    key, k_actor, k_critic, k_reset = jax.random.split(key, 4)
    obs_size, action_size = env.observation_shape[0], env.action_space.shape[0]
    args = (config.hidden_sizes, config.activation)
    actor = SquashedGaussianActor(obs_size, action_size, *args, key=k_actor)
    critic = critic_ensemble(config.num_critics, obs_size, action_size, *args, key=k_critic)
    log_alpha = jnp.log(config.alpha)
    learners = [
        optim.Learner(model, tx.init(eqx.filter(model, eqx.is_array)))
        for model, tx in zip((actor, critic, log_alpha), _optimizers(config))
    ]
    nets = Nets(*learners, target_critic=critic)
    return offpolicy.start(config, env, nets, key, k_reset)


def _sample(config: Config, actor: SquashedGaussianActor, obs: jax.Array, key: jax.Array):
    """Reparameterized actions and their log-probabilities for a batch ``obs`` ``[B, ...]``."""
    low, high = offpolicy.action_box(envs.from_config(config))
    sample = lambda o, k: distributions.squashed_gaussian_sample(k, actor(o), low, high)  # noqa: E731
    return jax.vmap(sample)(obs, jax.random.split(key, obs.shape[0]))


def greedy_policy(config: Config, state: State) -> rollout.Policy:
    """act(obs, key) = c + h tanh(μ(obs)), the squashed mean."""
    low, high = offpolicy.action_box(envs.from_config(config))
    actor = state.nets.actor.model
    return lambda obs, key: (distributions.squashed_gaussian_mode(actor(obs), low, high), {})


def behaviour_policy(config: Config, actor: SquashedGaussianActor) -> rollout.Policy:
    """a ~ π(·|obs)."""
    low, high = offpolicy.action_box(envs.from_config(config))
    return lambda obs, key: (
        distributions.squashed_gaussian_sample(key, actor(obs), low, high)[0],
        {},
    )


def critic_target(config: Config, nets: Nets, batch: offpolicy.Transition, key) -> jax.Array:
    """y ``[B]``: the soft target with a' ~ π(·|s')."""
    a_next, logp_next = _sample(config, nets.actor.model, batch.next_obs, key)
    q_next = jax.vmap(ensemble_values, in_axes=(None, 0, 0))(
        nets.target_critic, batch.next_obs, a_next
    )
    alpha = jnp.exp(nets.log_alpha.model)
    soft = jax.vmap(continuous.soft_q_target, in_axes=(0, 0, 0, 0, None))
    return soft(batch.reward, batch.discount, q_next, logp_next, alpha)


def actor_loss(actor, config, critic, alpha, obs: jax.Array, key: jax.Array):
    """mean α log π(a|s) − min_e Q_e(s, a) over reparameterized a ~ π(·|s); aux log π."""
    action, logp = _sample(config, actor, obs, key)
    q = jax.vmap(ensemble_values, in_axes=(None, 0, 0))(critic, obs, action)
    loss = jax.vmap(continuous.soft_policy_loss, in_axes=(0, 0, None))(logp, q, alpha)
    return jnp.mean(loss), logp


def gradient_step(config: Config, nets: Nets, batch: offpolicy.Transition, key):
    """One step of the critics, the actor and (``autotune``) the temperature; then the
    targets' Polyak step."""
    tx_actor, tx_critic, tx_alpha = _optimizers(config)
    k_target, k_actor = jax.random.split(key)
    y = critic_target(config, nets, batch, k_target)
    (c_loss, q_mean), c_grads = eqx.filter_value_and_grad(critic_loss, has_aux=True)(
        nets.critic.model, batch, y
    )
    critic = optim.apply(tx_critic, nets.critic, c_grads)

    alpha = jnp.exp(nets.log_alpha.model)
    (a_loss, logp), a_grads = eqx.filter_value_and_grad(actor_loss, has_aux=True)(
        nets.actor.model, config, critic.model, alpha, batch.obs, k_actor
    )
    actor = optim.apply(tx_actor, nets.actor, a_grads)

    env = envs.from_config(config)
    target = continuous.target_entropy(env.action_space.shape[0], config.target_entropy_scale)
    t_loss = lambda log_alpha: jnp.mean(  # noqa: E731
        jax.vmap(continuous.temperature_loss, in_axes=(None, 0, None))(log_alpha, logp, target)
    )
    log_alpha = nets.log_alpha
    if config.autotune:
        log_alpha = optim.apply(tx_alpha, log_alpha, jax.grad(t_loss)(log_alpha.model))

    nets = Nets(
        actor=actor,
        critic=critic,
        log_alpha=log_alpha,
        target_critic=offpolicy.follow(critic.model, nets.target_critic, config.tau),
    )
    metrics = {
        "loss/critic": c_loss,
        "loss/actor": a_loss,
        "q_mean": q_mean,
        "alpha": alpha,
        "entropy": -jnp.mean(logp),
        "grad_norm/critic": optax.tree.norm(c_grads),
    }
    return nets, metrics


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """Collect ``num_envs × num_steps`` transitions, then ``gradient_steps`` steps."""
    return offpolicy.update(config, state, behaviour_policy, gradient_step)


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan`` (``loop.train``)."""
    return loop.train(loop.Algorithm(init, update, greedy_policy), config, key)
