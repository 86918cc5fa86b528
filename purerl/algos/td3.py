"""TD3 — and DDPG, its special case — as one pure ``train(config, key)``.

A deterministic actor μ_φ(s) (tanh onto the action box) and an ensemble of
``num_critics`` critics Q_θe(s, a) learn from a replay buffer (``purerl.offpolicy``: the
first ``learning_starts`` environment steps take uniform random actions; after that the
behaviour is clip(μ(s) + N(0, (σ h)²), low, high), σ = ``exploration_noise``, h the box's
half-widths). Each gradient step on a minibatch:

    a' = clip(μ_φ⁻(s') + clip(ε, −c h, c h), low, high),  ε ~ N(0, (σ' h)²)  (smoothing)
    y  = r + γ_d · min_e Q_θe⁻(s', a')                        (clipped double Q)
    L(θ) = Σ_e mean ½ (y − Q_θe(s, a))²

and every ``policy_delay``-th step the actor ascends Q_θ1(s, μ_φ(s)) (the deterministic
policy gradient, loss −Q) and the targets move by Polyak averaging with ``tau``.
γ_d is γ, or 0 where the episode terminated; a time-limit truncation bootstraps from the
final observation.

DDPG (``purerl.algos.ddpg``) is the same program with one critic, no target smoothing and
the actor updated every step (Stable-Baselines3's DDPG; the original used an
Ornstein–Uhlenbeck process for exploration, later work found Gaussian noise as good).

References: Fujimoto et al., "Addressing Function Approximation Error in Actor-Critic
Methods" (TD3, 2018); Lillicrap et al., "Continuous control with deep RL" (DDPG, 2016).
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from purerl import config as cfg
from purerl import envs, loop, offpolicy, optim, rollout
from purerl.kernels import continuous, value
from purerl.nets import ACTIVATIONS, DeterministicActor, QCritic, critic_ensemble, ensemble_values
from purerl.offpolicy import State


class Config(eqx.Module):
    """TD3 hyperparameters. Defaults: the TD3 paper's (CleanRL's), with a smaller budget."""

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
    num_critics: int = cfg.count(2)  # clipped double Q over this many critics
    policy_delay: int = cfg.count(2)  # critic steps per actor (and target) step
    bootstrap_truncated: bool = cfg.flag(True)  # False: time limits as terminal (ablation)
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(10)

    actor_lr: jax.Array = cfg.hyperparameter(3e-4, 0.0, low_open=True)
    critic_lr: jax.Array = cfg.hyperparameter(3e-4, 0.0, low_open=True)
    gamma: jax.Array = cfg.hyperparameter(0.99, 0.0, 1.0)
    tau: jax.Array = cfg.hyperparameter(0.005, 0.0, 1.0, low_open=True)
    exploration_noise: jax.Array = cfg.hyperparameter(0.1, 0.0)  # σ, in half-widths
    target_noise: jax.Array = cfg.hyperparameter(0.2, 0.0)  # σ', in half-widths
    target_noise_clip: jax.Array = cfg.hyperparameter(0.5, 0.0)  # c, in half-widths
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
    target_actor: DeterministicActor
    target_critic: QCritic
    steps: jax.Array  # gradient steps taken


def _optimizers(config: Config) -> tuple[optax.GradientTransformation, ...]:
    return (
        optim.clipped_adam(config.actor_lr, config.max_grad_norm),
        optim.clipped_adam(config.critic_lr, config.max_grad_norm),
    )


def init(config: Config, key: jax.Array) -> State:
    env = envs.from_config(config)
    key, k_actor, k_critic, k_reset = jax.random.split(key, 4)
    obs_size, action_size = env.observation_shape[0], env.action_space.shape[0]
    low, high = env.action_space.low, env.action_space.high
    args = (config.hidden_sizes, config.activation)
    actor = DeterministicActor(obs_size, low, high, *args, key=k_actor)
    critic = critic_ensemble(config.num_critics, obs_size, action_size, *args, key=k_critic)
    tx_actor, tx_critic = _optimizers(config)
    nets = Nets(
        actor=optim.Learner(actor, tx_actor.init(eqx.filter(actor, eqx.is_array))),
        critic=optim.Learner(critic, tx_critic.init(eqx.filter(critic, eqx.is_array))),
        target_actor=actor,
        target_critic=critic,
        steps=jnp.zeros((), jnp.int32),
    )
    return offpolicy.start(config, env, nets, key, k_reset)


def greedy_policy(config: Config, state: State) -> rollout.Policy:
    """act(obs, key) = μ(obs)."""
    return lambda obs, key: (state.nets.actor.model(obs), {})


def behaviour_policy(config: Config, actor: DeterministicActor) -> rollout.Policy:
    """clip(μ(obs) + N(0, (σ h)²), low, high)."""
    low, high = offpolicy.action_box(envs.from_config(config))

    def act(obs, key):
        mean = actor(obs)
        noise = config.exploration_noise * (high - low) / 2.0 * jax.random.normal(key, mean.shape)
        return jnp.clip(mean + noise, low, high), {}

    return act


def critic_target(config: Config, nets: Nets, batch: offpolicy.Transition, key) -> jax.Array:
    """y ``[B]``: the clipped double-Q target at the smoothed target action."""
    low, high = offpolicy.action_box(envs.from_config(config))
    half = (high - low) / 2.0

    def smoothed(next_obs, k):
        action = nets.target_actor(next_obs)
        noise = config.target_noise * half * jax.random.normal(k, action.shape)
        clip = config.target_noise_clip * half
        return continuous.smoothed_target_action(action, noise, clip, low, high)

    a_next = jax.vmap(smoothed)(batch.next_obs, jax.random.split(key, batch.reward.shape[0]))
    q_next = jax.vmap(ensemble_values, in_axes=(None, 0, 0))(
        nets.target_critic, batch.next_obs, a_next
    )
    return jax.vmap(continuous.clipped_double_q_target)(batch.reward, batch.discount, q_next)


def critic_loss(critic: QCritic, batch: offpolicy.Transition, y: jax.Array):
    """Σ_e mean_i ½ (y_i − Q_e(s_i, a_i))² and the mean Q."""
    q = jax.vmap(ensemble_values, in_axes=(None, 0, 0))(critic, batch.obs, batch.action)
    loss = jnp.sum(jnp.mean(value.squared_loss(y[:, None] - q), axis=0))
    return loss, jnp.mean(q)


def actor_loss(actor: DeterministicActor, critic: QCritic, obs: jax.Array) -> jax.Array:
    """mean_i −Q_1(s_i, μ(s_i)) (the first critic, as in TD3)."""
    q = jax.vmap(lambda o: ensemble_values(critic, o, actor(o))[0])(obs)
    return jnp.mean(jax.vmap(continuous.deterministic_policy_loss)(q))


def gradient_step(config: Config, nets: Nets, batch: offpolicy.Transition, key):
    """One critic step; on every ``policy_delay``-th, an actor step and the target update."""
    tx_actor, tx_critic = _optimizers(config)
    y = critic_target(config, nets, batch, key)
    (c_loss, q_mean), c_grads = eqx.filter_value_and_grad(critic_loss, has_aux=True)(
        nets.critic.model, batch, y
    )
    critic = optim.apply(tx_critic, nets.critic, c_grads)
    steps = nets.steps + 1
    due = steps % config.policy_delay == 0
    a_loss, a_grads = eqx.filter_value_and_grad(actor_loss)(
        nets.actor.model, critic.model, batch.obs
    )
    actor = optim.apply(tx_actor, nets.actor, a_grads, active=due)
    nets = Nets(
        actor=actor,
        critic=critic,
        target_actor=offpolicy.follow(actor.model, nets.target_actor, config.tau, due),
        target_critic=offpolicy.follow(critic.model, nets.target_critic, config.tau, due),
        steps=steps,
    )
    metrics = {
        "loss/critic": c_loss,
        "loss/actor": a_loss,
        "q_mean": q_mean,
        "grad_norm/critic": optax.tree.norm(c_grads),
    }
    return nets, metrics


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """Collect ``num_envs × num_steps`` transitions, then ``gradient_steps`` steps."""
    return offpolicy.update(config, state, behaviour_policy, gradient_step)


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan`` (``loop.train``)."""
    return loop.train(loop.Algorithm(init, update, greedy_policy), config, key)
