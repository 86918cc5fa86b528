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

Huber loss needs many gradient steps per target copy. With the defaults (50 gradient steps
between copies: one per 10 environment steps, a copy every 500) ``loss="huber"`` diverges
on CartPole — mean Q 9.9k at 40k steps, 55k at 60k (2 seeds), where MSE stays at 88 —
and an independent NumPy DQN (``bench/dqn_loss_reference.py``: its own CartPole, network,
backprop and Adam) diverges the same way (4.9k at 40k, 35k at 60k) while its MSE does not.
It is a property of these settings, not of this code: Huber's gradient is capped at ±Δ per
item, so the few Adam steps cannot pull Q onto targets that rise with Q itself. It stays
bounded with 10× more gradient steps per copy (``target_update_interval=5000``: Q 9 at 60k
in both implementations; or ``gradient_steps=10``: 66) or with Δ = 10 (88), as in the DQN
paper and Stable-Baselines3, whose defaults make 2,500 gradient steps per copy.

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
import optax

from purerl import buffers, envs, loop, optim, rollout
from purerl import config as cfg
from purerl.envs import episode_stats
from purerl.kernels import distributions, value
from purerl.nets import ACTIVATIONS, QNetwork

LOSSES = ("mse", "huber")


class Config(eqx.Module):
    """DQN hyperparameters. Defaults: CleanRL's CartPole DQN (10 envs here, one gradient
    step per 10 environment steps)."""

    env_id: str = cfg.environment("CartPole-v1")
    env_kwargs: tuple = cfg.env_kwargs_field()
    num_envs: int = cfg.count(10)
    num_steps: int = cfg.count(1)  # vectorized environment steps per update
    gradient_steps: int = cfg.count(1)  # minibatch steps per update
    total_timesteps: int = cfg.count(500_000)
    buffer_size: int = cfg.count(10_000)
    batch_size: int = cfg.count(128)
    learning_starts: int = cfg.count(10_000)  # environment steps before the first gradient step
    target_update_interval: int = cfg.count(500)  # environment steps between target updates
    hidden_sizes: tuple[int, ...] = cfg.sizes((120, 84))
    activation: str = cfg.choice("relu", tuple(sorted(ACTIVATIONS)))
    double: bool = cfg.flag(False)
    dueling: bool = cfg.flag(False)
    aggregation: str = cfg.choice("mean", value.AGGREGATIONS)  # dueling: "mean" or "max"
    prioritized: bool = cfg.flag(False)
    n_step: int = cfg.count(1)
    loss: str = cfg.choice("mse", LOSSES)  # "huber": see the module note on target updates
    # Decay the learning rate linearly, by lr / (num_updates · gradient_steps) per gradient
    # step from the first one (after learning_starts): it ends at a few % of lr, not 0.
    anneal_lr: bool = cfg.flag(False)
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(10)

    lr: jax.Array = cfg.hyperparameter(2.5e-4, 0.0, low_open=True)
    gamma: jax.Array = cfg.hyperparameter(0.99, 0.0, 1.0)
    tau: jax.Array = cfg.hyperparameter(1.0, 0.0, 1.0, low_open=True)
    epsilon_start: jax.Array = cfg.hyperparameter(1.0, 0.0, 1.0)
    epsilon_end: jax.Array = cfg.hyperparameter(0.05, 0.0, 1.0)
    exploration_fraction: jax.Array = cfg.hyperparameter(0.5, 0.0, 1.0, low_open=True)
    # inf: no clipping (CleanRL)
    max_grad_norm: jax.Array = cfg.hyperparameter(float("inf"), 0.0, low_open=True, allow_inf=True)
    huber_delta: jax.Array = cfg.hyperparameter(1.0, 0.0, low_open=True)
    per_alpha: jax.Array = cfg.hyperparameter(0.6, 0.0)
    per_beta_start: jax.Array = cfg.hyperparameter(0.4, 0.0, 1.0)
    per_eps: jax.Array = cfg.hyperparameter(1e-6, 0.0, low_open=True)

    def __check_init__(self):
        cfg.validate(self)
        cfg.require(
            self,
            "env_id",
            envs.is_discrete(envs.from_config(self)),
            "must have a discrete action space (DQN picks argmax_a Q(s, a))",
        )
        cfg.require(
            self,
            "buffer_size",
            self.buffer_size >= max(self.batch_size, self.steps_per_update),
            "must hold at least batch_size and num_envs * num_steps items",
        )
        cfg.require(
            self,
            "target_update_interval",
            self.target_update_interval % self.steps_per_update == 0,
            f"must be a multiple of num_envs * num_steps = {self.steps_per_update}",
        )
        cfg.require_learning_starts(self)
        cfg.require_annealing_window(
            self, "exploration_fraction", self.total_timesteps, self.steps_per_update,
            "environment steps", "epsilon_start", "epsilon_end",
        )  # fmt: skip

    steps_per_update = cfg.steps_per_update_property
    num_updates = cfg.num_updates_property


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
    rollout: rollout.Carry  # [num_envs] environments and their episode statistics
    env_steps: jax.Array
    key: jax.Array


def _optimizer(config: Config) -> optax.GradientTransformation:
    total = config.num_updates * config.gradient_steps
    return optim.clipped_adam(config.lr, config.max_grad_norm, total if config.anneal_lr else None)


def epsilon(config: Config, env_steps: jax.Array) -> jax.Array:
    """The linear ε schedule after ``env_steps`` environment steps."""
    window = config.exploration_fraction * config.total_timesteps
    return optim.linear_schedule(config.epsilon_start, config.epsilon_end, env_steps, window)


def init(config: Config, key: jax.Array) -> State:
    env = envs.from_config(config)
    key, k_model, k_reset = jax.random.split(key, 3)
    model = QNetwork(
        env.observation_shape[0], env.action_space.n, config.hidden_sizes, config.activation,
        config.dueling, config.aggregation, key=k_model,
    )  # fmt: skip
    carry = rollout.reset(env, k_reset, config.num_envs)
    obs = carry.obs
    item = Transition(obs[0], jnp.int32(0), 0.0, 0.0, obs[0], jnp.bool_(False))
    replay = (buffers.prioritized_init if config.prioritized else buffers.init)(
        item, config.buffer_size
    )
    n, N = config.n_step, config.num_envs
    window = Window(
        obs=jnp.zeros((n, *obs.shape)),
        action=jnp.zeros((n, N), jnp.int32),
        reward=jnp.zeros((n, N)),
        discount=jnp.zeros((n, N)),
        cut=jnp.zeros((n, N), bool),
        next_obs=jnp.zeros((n, *obs.shape)),
        filled=jnp.zeros((), jnp.int32),
    )
    return State(
        model=model,
        target=model,
        opt_state=_optimizer(config).init(eqx.filter(model, eqx.is_array)),
        replay=replay,
        window=window,
        rollout=carry,
        env_steps=jnp.zeros((), jnp.int32),
        key=key,
    )


def greedy_policy(config: Config, state: State) -> rollout.Policy:
    """act(obs, key) = argmax_a Q(obs, a), the first maximal action on ties."""
    return lambda obs, key: (jnp.argmax(state.model(obs)).astype(jnp.int32), {})


def _push(window: Window, step: Window) -> tuple[Window, Transition]:
    """Append one step to every environment's window; fold the oldest n-step transition."""
    slide = lambda w, s: jnp.concatenate([w[1:], s[None]])  # noqa: E731
    window = jax.tree.map(slide, window._replace(filled=None), step._replace(filled=None))
    window = window._replace(filled=jnp.minimum(step.filled, window.reward.shape[0]))
    fold = jax.vmap(value.n_step_accumulate, in_axes=1)
    g, discount, k = fold(window.reward, window.discount, window.cut)
    env_index = jnp.arange(g.shape[0])
    transition = Transition(
        obs=window.obs[0],
        action=window.action[0],
        reward=g,
        discount=discount,
        next_obs=window.next_obs[k - 1, env_index],
        valid=jnp.broadcast_to(window.filled == window.reward.shape[0], g.shape),
    )
    return window, transition


def _store(config: Config, replay, transitions: Transition):
    if not config.prioritized:
        return buffers.add(replay, transitions)
    # Placeholders written while the n-step window fills are never sampled.
    return buffers.prioritized_add(replay, transitions, transitions.valid)


def epsilon_greedy_policy(model: QNetwork, eps: jax.Array) -> rollout.Policy:
    """The behaviour policy: ``epsilon_greedy_sample`` of Q(obs, ·)."""
    return lambda obs, key: (distributions.epsilon_greedy_sample(key, model(obs), eps), {})


def _window_transitions(config: Config, window: Window, traj: rollout.Transition):
    """Push a rollout's steps ``[T, N]`` through the n-step windows, in order; returns the
    windows and the ``[T, N]`` n-step transitions that left them."""

    def push(window: Window, t: rollout.Transition):
        step = Window(
            obs=t.obs,
            action=t.action,
            reward=t.reward,
            discount=config.gamma * (1.0 - t.terminated.astype(jnp.float32)),
            cut=t.done,
            next_obs=t.final_obs,
            filled=window.filled + 1,
        )
        return _push(window, step)

    return jax.lax.scan(push, window, traj)


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


class _Learning(NamedTuple):
    learner: optim.Learner
    # Of a prioritized buffer only the priorities are carried: the items are read-only
    # here, and carrying them through the scan made XLA copy the whole buffer every update.
    priorities: buffers.Priorities | None


def _learn(config: Config, state: State, replay, env_steps, key):
    """``gradient_steps`` minibatch steps from the replay buffer, applied only once
    ``learning_starts`` environment steps have been taken (before, they are computed and
    masked out: under ``vmap`` a ``lax.cond`` would compute both branches anyway)."""
    tx = _optimizer(config)
    ready = env_steps >= config.learning_starts
    grad_fn = eqx.filter_value_and_grad(
        lambda m, b, w: _loss(config, m, state.target, b, w), has_aux=True
    )
    beta = optim.linear_schedule(config.per_beta_start, 1.0, env_steps, config.total_timesteps)

    def gradient_step(c: _Learning, k):
        if config.prioritized:
            current = replay._replace(priorities=c.priorities)
            batch, indices, weights = buffers.prioritized_sample(
                current, k, config.batch_size, beta
            )
        else:
            batch, _ = buffers.sample(replay, k, config.batch_size)
            weights = jnp.ones(config.batch_size)
        (_, (td, metrics)), grads = grad_fn(c.learner.model, batch, weights)
        learner = optim.apply(tx, c.learner, grads, active=ready)
        priorities = c.priorities
        if config.prioritized:
            priorities = buffers.update_priorities(
                current, indices, td, config.per_eps, config.per_alpha, active=ready
            ).priorities
        metrics = {**metrics, "grad_norm": optax.tree.norm(grads)}
        metrics = jax.tree.map(lambda x: jnp.where(ready, x, 0.0), metrics)
        return _Learning(learner, priorities), metrics

    start = _Learning(
        optim.Learner(state.model, state.opt_state),
        replay.priorities if config.prioritized else None,
    )
    keys = jax.random.split(key, config.gradient_steps)
    done, metrics = jax.lax.scan(gradient_step, start, keys)
    if config.prioritized:
        replay = replay._replace(priorities=done.priorities)
    return done.learner, replay, jax.tree.map(jnp.mean, metrics)


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """Collect ``num_envs × num_steps`` transitions, then learn (after ``learning_starts``).

    ε is that of the environment steps taken before the update (constant within it)."""
    env = envs.from_config(config)
    key, k_collect, k_learn = jax.random.split(state.key, 3)
    eps = epsilon(config, state.env_steps)
    traj, carry = rollout.collect(
        env, epsilon_greedy_policy(state.model, eps), state.rollout, k_collect, config.num_steps
    )
    window, transitions = _window_transitions(config, state.window, traj)
    replay = _store(config, state.replay, rollout.flatten(transitions))
    env_steps = state.env_steps + config.steps_per_update
    learner, replay, metrics = _learn(config, state, replay, env_steps, k_learn)

    sync = env_steps % config.target_update_interval == 0
    params, static_part = eqx.partition(learner.model, eqx.is_array)
    target_params = eqx.filter(state.target, eqx.is_array)
    mixed = optax.incremental_update(params, target_params, config.tau)
    target_params = jax.tree.map(lambda m, t: jnp.where(sync, m, t), mixed, target_params)

    stats = rollout.record(carry.stats, traj)
    metrics = {
        **metrics,
        **episode_stats.summary(stats),
        "env_steps": env_steps,
        "epsilon": eps,
    }
    state = State(
        model=learner.model,
        target=eqx.combine(target_params, static_part),
        opt_state=learner.opt_state,
        replay=replay,
        window=window,
        rollout=carry._replace(stats=stats),
        env_steps=env_steps,
        key=key,
    )
    return state, metrics


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan`` (``loop.train``).

    Returns the final state and metrics with a leading axis of updates.
    """
    return loop.train(loop.Algorithm(init, update, greedy_policy), config, key)
