"""Trust Region Policy Optimization as a pure ``train(config, key)``.

Each update collects ``num_steps`` transitions from each of ``num_envs`` environments,
estimates advantages Â with GAE, and improves the importance-sampled surrogate

    L(θ) = mean_t [π_θ(a_t|s_t) / π_old(a_t|s_t) · Â_t]   subject to   KL̄(θ) ≤ δ,

with KL̄(θ) = mean_t KL[π_old(·|s_t) ‖ π_θ(·|s_t)]. ``method`` picks how:

- ``"natural"`` (TRPO proper): g = ∇L(θ_old); s ≈ F⁻¹g by ``cg_iters`` conjugate-gradient
  iterations on Fisher-vector products (automatic differentiation of KL̄ over every
  ``fvp_subsample``-th sample, with ``cg_damping``);
  the full step √(2δ / sᵀFs) · s reaches the KL radius under the quadratic model; a
  backtracking line search (``line_search_steps`` halvings by ``line_search_shrink``)
  takes the first step with KL̄ ≤ δ and an improved surrogate, or none.
- ``"penalized"``: ``policy_epochs`` Adam steps on L(θ) − λ KL̄(θ), then dual ascent on the
  multiplier, λ ← max(0, λ + α (KL̄ − δ)).

The value function (a separate network) is fitted by regression to the GAE λ-returns with
``vf_epochs`` × ``vf_minibatches`` Adam steps. Discrete actions use a categorical policy,
continuous ones a diagonal Gaussian with a state-independent log-std.

Reference: Schulman et al., "Trust Region Policy Optimization" (2015); Schulman et al.,
"High-Dimensional Continuous Control Using Generalized Advantage Estimation" (2016), §6.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from purerl import envs, normalize, optim, rollout
from purerl.config import (
    env_kwargs_field,
    hyperparameter,
    require_choice,
    require_divides_batch,
    require_hidden_sizes,
    require_one_update,
    require_positive_int,
    require_range,
    static,
)
from purerl.envs import episode_stats
from purerl.kernels import policy, trust_region
from purerl.nets import ACTIVATIONS, ActorCritic

METHODS = ("natural", "penalized")


class Config(eqx.Module):
    """TRPO hyperparameters. Defaults: Schulman et al. (2015)'s δ = 0.01, 10 CG iterations,
    damping 0.1, and halving line search; 8 environments × 256 steps per update."""

    env_id: str = static("CartPole-v1")
    env_kwargs: tuple = env_kwargs_field()
    method: str = static("natural")
    num_envs: int = static(8)
    num_steps: int = static(256)
    total_timesteps: int = static(500_000)
    hidden_sizes: tuple[int, ...] = eqx.field(default=(64, 64), static=True, converter=tuple)
    activation: str = static("tanh")
    cg_iters: int = static(10)
    fvp_subsample: int = static(5)  # Fisher-vector products use every k-th sample
    line_search_steps: int = static(10)
    policy_epochs: int = static(10)  # "penalized": full-batch Adam steps per update
    vf_epochs: int = static(5)
    vf_minibatches: int = static(4)
    normalize_obs: bool = static(False)
    normalize_advantages: bool = static(True)

    max_kl: jax.Array = hyperparameter(0.01)
    cg_damping: jax.Array = hyperparameter(0.1)
    line_search_shrink: jax.Array = hyperparameter(0.5)
    policy_lr: jax.Array = hyperparameter(3e-4)  # "penalized"
    penalty_init: jax.Array = hyperparameter(1.0)  # "penalized": λ at the start
    dual_lr: jax.Array = hyperparameter(10.0)  # "penalized": α
    vf_lr: jax.Array = hyperparameter(1e-3)
    gamma: jax.Array = hyperparameter(0.99)
    gae_lambda: jax.Array = hyperparameter(0.95)
    max_grad_norm: jax.Array = hyperparameter(0.5)  # of the value (and penalized policy) steps

    def __check_init__(self):
        envs.check_env_id(self.env_id, field="trpo.Config.env_id")
        require_choice(self, "method", METHODS)
        require_positive_int(
            self, "num_envs", "num_steps", "total_timesteps", "cg_iters", "fvp_subsample",
            "line_search_steps", "policy_epochs", "vf_epochs", "vf_minibatches",
        )  # fmt: skip
        require_one_update(self)
        require_divides_batch(self, "vf_minibatches")
        require_hidden_sizes(self)
        require_choice(self, "activation", sorted(ACTIVATIONS))
        require_range(self, "max_kl", 0.0, low_open=True)
        require_range(self, "cg_damping", 0.0)
        require_range(self, "line_search_shrink", 0.0, 1.0, low_open=True, high_open=True)
        require_range(self, "policy_lr", 0.0, low_open=True)
        require_range(self, "penalty_init", 0.0)
        require_range(self, "dual_lr", 0.0)
        require_range(self, "vf_lr", 0.0, low_open=True)
        require_range(self, "gamma", 0.0, 1.0)
        require_range(self, "gae_lambda", 0.0, 1.0)
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
    model: ActorCritic  # separate actor and critic trunks
    value_opt_state: Any
    policy_opt_state: Any  # "penalized" only (an unused Adam state for "natural")
    penalty: jax.Array  # λ of "penalized"
    env_state: Any
    obs: jax.Array
    stats: episode_stats.EpisodeStats
    normalizer: normalize.NormalizerState
    update_step: jax.Array
    key: jax.Array


def _env(config: Config):
    return envs.make(config.env_id, **dict(config.env_kwargs))


def _actor(model: ActorCritic):
    return model.actor_trunk, model.policy_head


def _critic(model: ActorCritic):
    return model.critic_trunk, model.value_head


def _value_optimizer(config: Config) -> optax.GradientTransformation:
    return optim.clipped_adam(config.vf_lr, config.max_grad_norm)


def _policy_optimizer(config: Config) -> optax.GradientTransformation:
    return optim.clipped_adam(config.policy_lr, config.max_grad_norm)


def init(config: Config, key: jax.Array) -> State:
    """Build the networks, optimizers, environments and trackers for one run."""
    env = _env(config)
    key, k_model, k_reset = jax.random.split(key, 3)
    model = rollout.actor_critic(env, config.hidden_sizes, config.activation, False, k_model)
    theta, _ = ravel_pytree(_actor(model))
    carry = rollout.reset(env, k_reset, config.num_envs)
    return State(
        model=model,
        value_opt_state=_value_optimizer(config).init(_critic(model)),
        policy_opt_state=_policy_optimizer(config).init(theta),
        penalty=config.penalty_init,
        env_state=carry.env_state,
        obs=carry.obs,
        stats=carry.stats,
        normalizer=normalize.init(env.observation_shape),
        update_step=jnp.zeros((), jnp.int32),
        key=key,
    )


class PolicyBatch(NamedTuple):
    obs: jax.Array
    action: jax.Array
    logp: jax.Array  # under π_old
    dist_params: Any  # π_old's
    advantage: jax.Array


def _policy_functions(dist, unravel, batch: PolicyBatch):
    """θ ↦ surrogate L(θ) and θ ↦ mean KL[π_old ‖ π_θ] over the batch."""

    def dist_params(theta):
        trunk, head = unravel(theta)
        return jax.vmap(lambda o: head(trunk(o)))(batch.obs)

    def surrogate(theta):
        logp = jax.vmap(dist.log_prob)(dist_params(theta), batch.action)
        ratio = policy.importance_ratio(logp, batch.logp)
        return jnp.mean(policy.surrogate_objective(ratio, batch.advantage))

    def mean_kl(theta):
        return jnp.mean(jax.vmap(dist.kl)(batch.dist_params, dist_params(theta)))

    return surrogate, mean_kl, dist_params


def _natural_step(config: Config, surrogate, mean_kl, fisher_kl, theta):
    g = jax.grad(surrogate)(theta)

    def fvp(v):
        return trust_region.fisher_vector_product(fisher_kl, theta, v, config.cg_damping)

    direction = trust_region.conjugate_gradient(fvp, g, config.cg_iters)
    full_step = trust_region.max_step_scale(direction, fvp(direction), config.max_kl) * direction
    search = trust_region.backtracking_line_search(
        surrogate, mean_kl, theta, full_step, config.max_kl,
        config.line_search_steps, config.line_search_shrink,
    )  # fmt: skip
    metrics = {
        "step_accepted": search.accepted.astype(jnp.float32),
        "step_fraction": search.step_fraction,
        "grad_norm": jnp.linalg.norm(g),
    }
    return search.params, search.kl, search.improvement, metrics


def _penalized_steps(config: Config, surrogate, mean_kl, theta, opt_state, penalty):
    tx = _policy_optimizer(config)

    def step(carry, _):
        theta, opt_state = carry
        grad = jax.grad(lambda th: -(surrogate(th) - penalty * mean_kl(th)))(theta)
        updates, opt_state = tx.update(grad, opt_state, theta)
        return (optax.apply_updates(theta, updates), opt_state), jnp.linalg.norm(grad)

    (theta, opt_state), grad_norms = jax.lax.scan(
        step, (theta, opt_state), None, length=config.policy_epochs
    )
    return theta, opt_state, {"grad_norm": jnp.mean(grad_norms)}


def _fit_value(config: Config, model: ActorCritic, opt_state, obs, target, key):
    tx = _value_optimizer(config)

    def loss(critic, obs, target):
        trunk, head = critic
        value = jax.vmap(lambda o: head(trunk(o))[0])(obs)
        return jnp.mean(policy.value_loss(value, target))

    def minibatch_step(carry, minibatch):
        critic, opt_state = carry
        value_loss, grads = jax.value_and_grad(loss)(critic, *minibatch)
        updates, opt_state = tx.update(grads, opt_state, critic)
        return (optax.apply_updates(critic, updates), opt_state), value_loss

    def epoch(carry, epoch_key):
        perm = jax.random.permutation(epoch_key, target.shape[0])
        minibatches = jax.tree.map(
            lambda x: x[perm].reshape(config.vf_minibatches, -1, *x.shape[1:]), (obs, target)
        )
        return jax.lax.scan(minibatch_step, carry, minibatches)

    (critic, opt_state), losses = jax.lax.scan(
        epoch, (_critic(model), opt_state), jax.random.split(key, config.vf_epochs)
    )
    model = eqx.tree_at(lambda m: (m.critic_trunk, m.value_head), model, critic)
    return model, opt_state, jnp.mean(losses)


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """One TRPO iteration: a rollout, GAE, a trust-region policy step, a value fit."""
    env = _env(config)
    dist = rollout.distribution(env)
    key, k_roll, k_value = jax.random.split(state.key, 3)

    traj, v_next, carry = rollout.collect(
        env,
        state.model,
        rollout.Carry(state.env_state, state.obs, state.stats),
        k_roll,
        config.num_steps,
        state.normalizer if config.normalize_obs else None,
    )
    advantage = rollout.gae(traj, v_next, config.gamma, config.gae_lambda)
    target = rollout.flatten(advantage + traj.value)
    batch = rollout.flatten(
        PolicyBatch(traj.obs, traj.action, traj.logp, traj.dist_params, advantage)
    )
    if config.normalize_advantages:
        adv = batch.advantage
        batch = batch._replace(advantage=(adv - adv.mean()) / (adv.std() + 1e-8))

    theta, unravel = ravel_pytree(_actor(state.model))
    surrogate, mean_kl, dist_params = _policy_functions(dist, unravel, batch)
    policy_opt_state, penalty = state.policy_opt_state, state.penalty
    if config.method == "natural":
        # F estimated on every fvp_subsample-th sample, as in OpenAI Baselines' TRPO: CG's
        # products cost a fraction of the batch; the line search checks the full-batch KL.
        sub = jax.tree.map(lambda x: x[:: config.fvp_subsample], batch)
        _, fisher_kl, _ = _policy_functions(dist, unravel, sub)
        new_theta, kl, improvement, step_metrics = _natural_step(
            config, surrogate, mean_kl, fisher_kl, theta
        )  # the line search already measured the KL and the improvement of its step
    else:
        new_theta, policy_opt_state, step_metrics = _penalized_steps(
            config, surrogate, mean_kl, theta, policy_opt_state, penalty
        )
        kl = mean_kl(new_theta)
        penalty = trust_region.dual_ascent(penalty, kl, config.max_kl, config.dual_lr)
        improvement = surrogate(new_theta) - surrogate(theta)
    entropy = jnp.mean(jax.vmap(dist.entropy)(dist_params(new_theta)))
    model = eqx.tree_at(lambda m: (m.actor_trunk, m.policy_head), state.model, unravel(new_theta))
    model, value_opt_state, value_loss = _fit_value(
        config, model, state.value_opt_state, batch.obs, target, k_value
    )

    normalizer = rollout.update_normalizer(state.normalizer, traj, config.normalize_obs)
    stats = rollout.record(carry.stats, traj)
    update_step = state.update_step + 1
    metrics = {
        "loss/total": -improvement + value_loss,
        "loss/policy": -improvement,
        "loss/value": value_loss,
        "kl": kl,
        "entropy": entropy,
        "penalty": penalty,
        **step_metrics,
        **episode_stats.summary(stats),
        "env_steps": update_step * config.batch_size,
    }
    state = State(
        model, value_opt_state, policy_opt_state, penalty, carry.env_state, carry.obs, stats,
        normalizer, update_step, key,
    )  # fmt: skip
    return state, metrics


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan``.

    Returns the final state and metrics with a leading axis of updates.
    """
    state = init(config, key)
    return jax.lax.scan(lambda s, _: update(config, s), state, None, length=config.num_updates)
