"""Deep Q-learning — DQN, Double DQN, Dueling DQN, prioritized replay and n-step targets —
as one pure ``train(config, key)``.

One update takes ``num_steps`` steps in each of ``num_envs`` environments with an ε-greedy
policy (ε decays linearly from ``epsilon_start`` to ``epsilon_end`` over the first
``exploration_fraction`` of training), stores the transitions in a replay buffer, and —
once ``learning_starts`` environment steps have been taken — runs ``gradient_steps``
minibatch steps of Adam on

    L(θ) = mean_i ω_i · ℓ(y_i − Q_θ(s_i, a_i)),   ℓ = ½δ² (``loss="mse"``) or Huber,

with the target

    y = G + γ_n · max_a' Q_θ⁻(s', a')                                   (DQN)
    y = G + γ_n · Q_θ⁻(s', argmax_a' Q_θ(s', a'))                       (``double=True``)

where (G, γ_n, s') folds ``n_step`` transitions: G = Σ_k γ^k r_{t+k}, γ_n = γ^n (0 if the
episode terminated inside the window; a time-limit truncation stops the window and
bootstraps from the final observation). ω_i = 1 for uniform replay, or the importance
weights of prioritized replay (``prioritized=True``; β anneals from ``per_beta_start`` to 1).
Every ``target_update_interval`` environment steps the target network moves to
θ⁻ ← τ θ + (1 − τ) θ⁻ (τ = 1: a hard copy; τ < 1 with an interval of one update: Polyak
averaging). ``dueling=True`` uses Q = V + A − agg A.

References: Mnih et al., "Human-level control through deep reinforcement learning" (2015);
van Hasselt et al., "Deep RL with Double Q-learning" (2016); Wang et al., "Dueling Network
Architectures" (2016); Schaul et al., "Prioritized Experience Replay" (2016); Hessel et al.,
"Rainbow" (2018) for n-step targets with replay.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from purerl import buffers, envs, optim
from purerl.config import (
    concrete,
    env_kwargs_field,
    hyperparameter,
    require,
    require_choice,
    require_hidden_sizes,
    require_one_update,
    require_positive_int,
    require_range,
    static,
)
from purerl.envs import episode_stats
from purerl.kernels import value
from purerl.nets import ACTIVATIONS, QNetwork

LOSSES = ("mse", "huber")


class Config(eqx.Module):
    """DQN hyperparameters. Defaults: CleanRL's CartPole DQN (10 envs here, one gradient
    step per 10 environment steps)."""

    env_id: str = static("CartPole-v1")
    env_kwargs: tuple = env_kwargs_field()
    num_envs: int = static(10)
    num_steps: int = static(1)  # vectorized environment steps per update
    gradient_steps: int = static(1)  # minibatch steps per update
    total_timesteps: int = static(500_000)
    buffer_size: int = static(10_000)
    batch_size: int = static(128)
    learning_starts: int = static(10_000)  # environment steps before the first gradient step
    target_update_interval: int = static(500)  # environment steps between target updates
    hidden_sizes: tuple[int, ...] = eqx.field(default=(120, 84), static=True, converter=tuple)
    activation: str = static("relu")
    double: bool = static(False)
    dueling: bool = static(False)
    aggregation: str = static("mean")  # dueling: "mean" or "max"
    prioritized: bool = static(False)
    n_step: int = static(1)
    loss: str = static("mse")
    # Decay the learning rate linearly, by lr / (num_updates · gradient_steps) per gradient
    # step from the first one (after learning_starts): it ends at a few % of lr, not 0.
    anneal_lr: bool = static(False)

    lr: jax.Array = hyperparameter(2.5e-4)
    gamma: jax.Array = hyperparameter(0.99)
    tau: jax.Array = hyperparameter(1.0)
    epsilon_start: jax.Array = hyperparameter(1.0)
    epsilon_end: jax.Array = hyperparameter(0.05)
    exploration_fraction: jax.Array = hyperparameter(0.5)
    max_grad_norm: jax.Array = hyperparameter(float("inf"))  # inf: no clipping (CleanRL)
    huber_delta: jax.Array = hyperparameter(1.0)
    per_alpha: jax.Array = hyperparameter(0.6)
    per_beta_start: jax.Array = hyperparameter(0.4)
    per_eps: jax.Array = hyperparameter(1e-6)

    def __check_init__(self):
        envs.check_env_id(self.env_id, field="dqn.Config.env_id")
        require(
            self,
            "env_id",
            envs.is_discrete(_env(self)),
            "must have a discrete action space (DQN picks argmax_a Q(s, a))",
        )
        require_positive_int(
            self, "num_envs", "num_steps", "gradient_steps", "total_timesteps", "buffer_size",
            "batch_size", "learning_starts", "target_update_interval", "n_step",
        )  # fmt: skip
        require_one_update(self)
        require(
            self,
            "buffer_size",
            self.buffer_size >= max(self.batch_size, self.num_envs),
            "must hold at least batch_size and num_envs items",
        )
        require(
            self,
            "target_update_interval",
            self.target_update_interval % self.steps_per_update == 0,
            f"must be a multiple of num_envs * num_steps = {self.steps_per_update}",
        )
        require_hidden_sizes(self)
        require_choice(self, "activation", sorted(ACTIVATIONS))
        require_choice(self, "aggregation", value.AGGREGATIONS)
        require_choice(self, "loss", LOSSES)
        require_range(self, "lr", 0.0, low_open=True)
        require_range(self, "gamma", 0.0, 1.0)
        require_range(self, "tau", 0.0, 1.0, low_open=True)
        require_range(self, "epsilon_start", 0.0, 1.0)
        require_range(self, "epsilon_end", 0.0, 1.0)
        require_range(self, "exploration_fraction", 0.0, 1.0, low_open=True)
        norm = concrete(self.max_grad_norm)
        positive = norm is None or bool(np.all(norm > 0))
        require(self, "max_grad_norm", positive, "must be > 0 (inf: no clipping)")
        require_range(self, "huber_delta", 0.0, low_open=True)
        require_range(self, "per_alpha", 0.0)
        require_range(self, "per_beta_start", 0.0, 1.0)
        require_range(self, "per_eps", 0.0, low_open=True)

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // self.steps_per_update


class Transition(NamedTuple):
    """What the replay buffer holds: an n-step transition (n = 1: a plain one)."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array  # G, the discounted sum of the window's rewards
    discount: jax.Array  # γ_n: product of the window's discounts (0 after a termination)
    next_obs: jax.Array  # the observation the window ends at (before any reset)
    valid: jax.Array  # False for the placeholders written while the first window fills


class Window(NamedTuple):
    """The last ``n_step`` one-step transitions of each environment: ``[n, num_envs, ...]``."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    discount: jax.Array  # γ, 0 where terminated
    cut: jax.Array  # the episode ended after this step (terminated or truncated)
    next_obs: jax.Array
    filled: jax.Array  # how many steps have been pushed (saturates at n)


class State(NamedTuple):
    model: QNetwork
    target: QNetwork
    opt_state: Any
    replay: buffers.Buffer | buffers.PrioritizedBuffer
    window: Window
    env_state: Any
    obs: jax.Array
    stats: episode_stats.EpisodeStats
    env_steps: jax.Array
    key: jax.Array


def _env(config: Config):
    return envs.make(config.env_id, **dict(config.env_kwargs))


def _optimizer(config: Config) -> optax.GradientTransformation:
    total = config.num_updates * config.gradient_steps
    return optim.clipped_adam(config.lr, config.max_grad_norm, total if config.anneal_lr else None)


def _fraction(config: Config, env_steps: jax.Array, fraction) -> jax.Array:
    return jnp.clip(env_steps / (fraction * config.total_timesteps), 0.0, 1.0)


def epsilon(config: Config, env_steps: jax.Array) -> jax.Array:
    """The linear ε schedule after ``env_steps`` environment steps."""
    frac = _fraction(config, env_steps, config.exploration_fraction)
    return config.epsilon_start + frac * (config.epsilon_end - config.epsilon_start)


def init(config: Config, key: jax.Array) -> State:
    env = _env(config)
    key, k_model, k_reset = jax.random.split(key, 3)
    model = QNetwork(
        env.observation_shape[0], env.action_space.n, config.hidden_sizes, config.activation,
        config.dueling, config.aggregation, key=k_model,
    )  # fmt: skip
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_reset, config.num_envs))
    item = Transition(obs[0], jnp.int32(0), 0.0, 0.0, obs[0], jnp.bool_(False))
    replay = (buffers.prioritized_init if config.prioritized else buffers.init)(
        item, config.buffer_size
    )
    n, N = config.n_step, config.num_envs
    window = Window(
        jnp.zeros((n, *obs.shape)), jnp.zeros((n, N), jnp.int32), jnp.zeros((n, N)),
        jnp.zeros((n, N)), jnp.zeros((n, N), bool), jnp.zeros((n, *obs.shape)),
        jnp.zeros((), jnp.int32),
    )  # fmt: skip
    return State(
        model, model, _optimizer(config).init(eqx.filter(model, eqx.is_array)), replay, window,
        env_state, obs, episode_stats.init(N), jnp.zeros((), jnp.int32), key,
    )  # fmt: skip


def _push(window: Window, step: Window) -> tuple[Window, Transition]:
    """Append one step to every environment's window; fold the oldest n-step transition."""
    window = jax.tree.map(lambda w, s: jnp.concatenate([w[1:], s[None]]), window[:-1], step[:-1])
    filled = jnp.minimum(step.filled, window[0].shape[0])
    window = Window(*window, filled)
    fold = jax.vmap(value.n_step_accumulate, in_axes=1)
    g, discount, k = fold(window.reward, window.discount, window.cut)
    env_index = jnp.arange(g.shape[0])
    transition = Transition(
        window.obs[0], window.action[0], g, discount, window.next_obs[k - 1, env_index],
        jnp.broadcast_to(filled == window.reward.shape[0], g.shape),
    )  # fmt: skip
    return window, transition


def _store(config: Config, replay, transitions: Transition):
    if not config.prioritized:
        return buffers.add(replay, transitions)
    # Placeholders written while the n-step window fills are never sampled.
    return buffers.prioritized_add(replay, transitions, transitions.valid)


def _act(config: Config, model: QNetwork, obs, key, eps):
    """ε-greedy actions ``[num_envs]``."""
    k_explore, k_random = jax.random.split(key)
    greedy = jnp.argmax(jax.vmap(model)(obs), axis=-1).astype(jnp.int32)
    num_actions = model.head.out_features
    random = jax.random.randint(k_random, greedy.shape, 0, num_actions)
    explore = jax.random.uniform(k_explore, greedy.shape) < eps
    return jnp.where(explore, random, greedy)


def _collect(config: Config, state: State, key):
    """``num_steps`` ε-greedy steps in every environment, each stored in the replay buffer."""
    env = _env(config)
    N = config.num_envs

    def env_step(carry, step_key):
        model = state.model
        env_state, obs, stats, replay, window, env_steps = carry
        k_act, k_env = jax.random.split(step_key)
        action = _act(config, model, obs, k_act, epsilon(config, env_steps))
        next_obs, env_state, reward, terminated, truncated, info = jax.vmap(env.step)(
            jax.random.split(k_env, N), env_state, action
        )
        done = jnp.logical_or(terminated, truncated)
        stats, ep_return, ep_length = episode_stats.step(stats, reward, done)
        stats = episode_stats.record(stats, done, ep_return, ep_length)
        step = Window(
            obs, action, reward, config.gamma * (1.0 - terminated.astype(jnp.float32)), done,
            info["final_obs"], window.filled + 1,
        )  # fmt: skip
        window, transition = _push(window, step)
        replay = _store(config, replay, transition)
        return (env_state, next_obs, stats, replay, window, env_steps + N), None

    carry = (state.env_state, state.obs, state.stats, state.replay, state.window, state.env_steps)
    if config.num_steps == 1:  # the common case needs no inner loop
        return env_step(carry, key)[0]
    carry, _ = jax.lax.scan(env_step, carry, jax.random.split(key, config.num_steps))
    return carry


def _loss(config: Config, model: QNetwork, target: QNetwork, batch: Transition, weights):
    q_tm1 = jax.vmap(model)(batch.obs)
    q_t_target = jax.vmap(target)(batch.next_obs)
    if config.double:
        q_t_online = jax.vmap(model)(batch.next_obs)
        y = jax.vmap(value.double_q_learning_target)(
            batch.reward, batch.discount, q_t_target, q_t_online
        )
    else:
        y = jax.vmap(value.q_learning_target)(batch.reward, batch.discount, q_t_target)
    td = jax.vmap(value.q_td_error)(q_tm1, batch.action, y)
    w = weights * batch.valid
    if config.loss == "huber":
        per_item = value.huber_loss(td, config.huber_delta, w)
    else:
        per_item = value.squared_loss(td, w)
    loss = jnp.mean(per_item)
    metrics = {"loss/q": loss, "q_mean": jnp.mean(q_tm1), "td_error": jnp.mean(jnp.abs(td))}
    return loss, (td, metrics)


def _learn(config: Config, state: State, replay, env_steps, key):
    """``gradient_steps`` minibatch steps from the replay buffer, applied only once
    ``learning_starts`` environment steps have been taken (before, they are computed and
    masked out: under ``vmap`` a ``lax.cond`` would compute both branches anyway)."""
    tx = _optimizer(config)
    ready = env_steps >= config.learning_starts
    grad_fn = eqx.filter_value_and_grad(
        lambda m, b, w: _loss(config, m, state.target, b, w), has_aux=True
    )
    beta_start = config.per_beta_start
    beta = beta_start + _fraction(config, env_steps, 1.0) * (1.0 - beta_start)

    def gradient_step(carry, k):
        # Only the priorities are carried: the transitions are read-only here, and carrying
        # them through the scan made XLA copy the whole buffer every update.
        model, opt_state, priorities = carry
        if config.prioritized:
            current = replay._replace(priorities=priorities[0], max_priority=priorities[1])
            batch, indices, weights = buffers.prioritized_sample(
                current, k, config.batch_size, config.per_alpha, beta
            )
        else:
            batch, _ = buffers.sample(replay, k, config.batch_size)
            weights = jnp.ones(config.batch_size)
        (_, (td, metrics)), grads = grad_fn(model, batch, weights)
        updates, new_opt_state = tx.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        updates = jax.tree.map(lambda u: jnp.where(ready, u, 0.0), updates)
        model = eqx.apply_updates(model, updates)
        opt_state = jax.tree.map(lambda n, o: jnp.where(ready, n, o), new_opt_state, opt_state)
        if config.prioritized:
            td = jnp.where(ready, td, current.priorities[indices] - config.per_eps)
            current = buffers.update_priorities(current, indices, td, config.per_eps)
            priorities = (current.priorities, current.max_priority)
        metrics = {**metrics, "grad_norm": optax.tree.norm(grads)}
        return (model, opt_state, priorities), jax.tree.map(
            lambda x: jnp.where(ready, x, 0.0), metrics
        )

    priorities = (replay.priorities, replay.max_priority) if config.prioritized else ()
    carry = (state.model, state.opt_state, priorities)
    keys = jax.random.split(key, config.gradient_steps)
    (model, opt_state, priorities), metrics = jax.lax.scan(gradient_step, carry, keys)
    if config.prioritized:
        replay = replay._replace(priorities=priorities[0], max_priority=priorities[1])
    return (model, opt_state, replay), jax.tree.map(jnp.mean, metrics)


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """Collect ``num_envs × num_steps`` transitions, then learn (after ``learning_starts``)."""
    key, k_collect, k_learn = jax.random.split(state.key, 3)
    env_state, obs, stats, replay, window, env_steps = _collect(config, state, k_collect)
    (model, opt_state, replay), metrics = _learn(config, state, replay, env_steps, k_learn)

    sync = env_steps % config.target_update_interval == 0
    params, static_part = eqx.partition(model, eqx.is_array)
    target_params = eqx.filter(state.target, eqx.is_array)
    mixed = optax.incremental_update(params, target_params, config.tau)
    target_params = jax.tree.map(lambda m, t: jnp.where(sync, m, t), mixed, target_params)
    target = eqx.combine(target_params, static_part)

    metrics = {
        **metrics,
        **episode_stats.summary(stats),
        "env_steps": env_steps,
        "epsilon": epsilon(config, env_steps),
    }
    state = State(model, target, opt_state, replay, window, env_state, obs, stats, env_steps, key)
    return state, metrics


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan``."""
    state = init(config, key)
    return jax.lax.scan(lambda s, _: update(config, s), state, None, length=config.num_updates)
