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
- ``"none"``: the unclipped surrogate r Â;
- ``"clip_kl"``: L^CLIP − β KL[π_old, π] with β adapted by ``kl_adapt_factor`` — the form
  the others are special cases of, chosen by array hyperparameters so that all of them
  share one compiled program (and one ``vmap``): ``clip_eps = inf`` removes the clipping,
  ``kl_beta = 0`` the penalty, and ``kl_adapt_factor = 1`` keeps β fixed (2 adapts it
  as in the paper).

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

from purerl import config as cfg
from purerl import envs, loop, normalize, onpolicy, optim, rollout
from purerl.kernels import divergence, policy
from purerl.nets import ACTIVATIONS, ActorCritic

OBJECTIVES = ("clip", "kl_fixed", "kl_adaptive", "none", "clip_kl")


class Config(eqx.Module):
    """PPO hyperparameters. Defaults: the PPO paper's Atari/CartPole settings (4 envs × 128)."""

    env_id: str = cfg.environment("CartPole-v1")
    env_kwargs: tuple = cfg.env_kwargs_field()
    num_envs: int = cfg.count(4)
    num_steps: int = cfg.count(128)
    total_timesteps: int = cfg.count(500_000)
    num_epochs: int = cfg.count(4)
    num_minibatches: int = cfg.count(4, divides_batch=True)
    hidden_sizes: tuple[int, ...] = cfg.sizes((64, 64))
    activation: str = cfg.choice("tanh", tuple(sorted(ACTIVATIONS)))
    shared_trunk: bool = cfg.flag(False)
    objective: str = cfg.choice("clip", OBJECTIVES)
    anneal_lr: bool = cfg.flag(True)
    normalize_obs: bool = cfg.flag(False)
    normalize_advantages: bool = cfg.flag(True)
    clip_value_loss: bool = cfg.flag(True)
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(10)

    lr: jax.Array = cfg.hyperparameter(2.5e-4, 0.0, low_open=True)
    gamma: jax.Array = cfg.hyperparameter(0.99, 0.0, 1.0)
    gae_lambda: jax.Array = cfg.hyperparameter(0.95, 0.0, 1.0)
    clip_eps: jax.Array = cfg.hyperparameter(0.2, 0.0, low_open=True, allow_inf=True)
    kl_beta: jax.Array = cfg.hyperparameter(1.0, 0.0)
    kl_target: jax.Array = cfg.hyperparameter(0.01, 0.0, low_open=True)
    kl_adapt_factor: jax.Array = cfg.hyperparameter(2.0, 1.0)  # "kl_adaptive", "clip_kl"
    ent_coef: jax.Array = cfg.hyperparameter(0.01, 0.0)
    vf_coef: jax.Array = cfg.hyperparameter(0.5, 0.0)
    max_grad_norm: jax.Array = cfg.hyperparameter(0.5, 0.0, low_open=True)

    __check_init__ = cfg.validate

    steps_per_update = cfg.steps_per_update_property
    num_updates = cfg.num_updates_property


class State(NamedTuple):
    model: ActorCritic
    opt_state: Any
    kl_beta: jax.Array  # the penalty coefficient (adapted when objective="kl_adaptive")
    rollout: rollout.Carry  # [num_envs] environments and their episode statistics
    normalizer: normalize.NormalizerState
    update_step: jax.Array
    key: jax.Array


class Batch(NamedTuple):
    obs: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    dist_params: Any
    advantage: jax.Array
    target: jax.Array


def _optimizer(config: Config) -> optax.GradientTransformation:
    per_update = config.num_epochs * config.num_minibatches
    total = config.num_updates * per_update if config.anneal_lr else None
    return optim.clipped_adam(config.lr, config.max_grad_norm, total, every=per_update, eps=1e-5)


def init(config: Config, key: jax.Array) -> State:
    """Build the network, optimizer, environments and trackers for one run."""
    start = onpolicy.start(envs.from_config(config), config, key, config.shared_trunk)
    return State(
        **start._asdict(),
        opt_state=_optimizer(config).init(eqx.filter(start.model, eqx.is_array)),
        kl_beta=config.kl_beta,
    )


greedy_policy = onpolicy.greedy_policy


def _loss(config: Config, dist, kl_beta, model: ActorCritic, batch: Batch):
    dist_params, value = jax.vmap(model)(batch.obs)
    logp = jax.vmap(dist.log_prob)(dist_params, batch.action)
    ratio = policy.importance_ratio(logp, batch.logp)
    adv = batch.advantage
    if config.normalize_advantages:
        adv = policy.normalize_advantages(adv)
    if config.objective in ("kl_fixed", "kl_adaptive", "clip_kl"):
        kl = jax.vmap(dist.kl)(batch.dist_params, dist_params)
        if config.objective == "clip_kl":
            clipped = policy.clipped_surrogate_objective(ratio, adv, config.clip_eps)
            objective = clipped - kl_beta * kl
        else:
            objective = policy.kl_penalized_objective(ratio, adv, kl, kl_beta)
    else:
        # Only a diagnostic here: the k3 estimator of KL[π_old, π] from the sampled
        # actions, which needs no second pass over the old distribution parameters.
        kl = divergence.kl_k3(logp - batch.logp)
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
    dist = onpolicy.distribution(envs.from_config(config))
    tx = _optimizer(config)
    key, k_roll, k_epochs = jax.random.split(state.key, 3)

    data = onpolicy.gae_rollout(config, state, k_roll)
    old = data.traj.extras
    batch = rollout.flatten(
        Batch(
            obs=data.obs,
            action=data.traj.action,
            logp=old.logp,
            value=old.value,
            dist_params=old.dist_params,
            advantage=data.advantage,
            target=data.advantage + old.value,
        )
    )

    grad_fn = eqx.filter_value_and_grad(
        lambda m, b: _loss(config, dist, state.kl_beta, m, b), has_aux=True
    )

    def minibatch_step(learner: optim.Learner, minibatch: Batch):
        (_, metrics), grads = grad_fn(learner.model, minibatch)
        return optim.apply(tx, learner, grads), {**metrics, "grad_norm": optax.tree.norm(grads)}

    learner, metrics = onpolicy.minibatch_epochs(
        k_epochs, batch, config.num_epochs, config.num_minibatches, minibatch_step,
        optim.Learner(state.model, state.opt_state),
    )  # fmt: skip
    metrics = jax.tree.map(jnp.mean, metrics)

    kl_beta = state.kl_beta
    if config.objective in ("kl_adaptive", "clip_kl"):
        kl_beta = policy.adaptive_kl_coefficient(
            kl_beta, metrics["kl"], config.kl_target, config.kl_adapt_factor
        )
    state = state._replace(model=learner.model, opt_state=learner.opt_state, kl_beta=kl_beta)
    metrics = {**metrics, "kl_beta": kl_beta}
    return onpolicy.end_update(config, state, data.traj, data.carry, key, metrics)


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan`` (``loop.train``).

    Returns the final state and metrics with a leading axis of updates.
    """
    return loop.train(loop.Algorithm(init, update, greedy_policy), config, key)
