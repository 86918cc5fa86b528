"""Tabular learning from experience: Monte Carlo, TD(0), n-step TD, TD(λ), SARSA, n-step
SARSA, expected SARSA and Q-learning, as one pure ``train(config, key)``.

One update is one episode on a finite-MDP environment (``purerl/...`` ids, index
observations). *Prediction* methods learn V^π of a fixed ``policy`` (uniform random by
default); *control* methods learn Q with an ε-greedy behaviour policy, ε decaying linearly
from ``epsilon_start`` to ``epsilon_end`` over the first ``epsilon_decay`` fraction of episodes.

Online methods update after every step (α = ``lr``, δ the TD error, target y):

- ``td0``:             V(s) ← V(s) + α [r + γ V(s') − V(s)]
- ``td_lambda_accumulating`` / ``td_lambda_replacing`` (backward view):
                       e ← γλ e; e(s) ← e(s) + 1 (or 1); V ← V + α δ e
- ``sarsa``:           y = r + γ Q(s', a'),  a' ~ ε-greedy(Q(s'))
- ``expected_sarsa``:  y = r + γ Σ_a' π(a'|s') Q(s', a')
- ``q_learning``:      y = r + γ max_a' Q(s', a')

Offline methods hold the table fixed during the episode and apply the summed increments
α Σ_t [G_t − V(s_t)] at its end:

- ``mc_every_visit`` / ``mc_first_visit``: G_t the discounted return (first visits only);
- ``td_n``:            G_t = R^(n)_t, the n-step return bootstrapped from V;
- ``td_lambda``:       G_t = R^λ_t = (1 − λ) Σ_n λ^{n−1} R^(n)_t (the forward view);
- ``sarsa_n``:         G_t = n-step return bootstrapped from Q(s_{t+n}, a_{t+n}).

γ is 0 after a termination; at a time-limit truncation the TD methods bootstrap from the
state reached, Monte Carlo does not (it uses the observed rewards).

Reference: Sutton & Barto, "Reinforcement Learning: An Introduction" (2nd ed., 2018),
§5.1 (MC), §6.1–6.5 (TD(0), SARSA, Q-learning), §6.6 (expected SARSA), §7.1–7.2 (n-step),
§12.1–12.2 (λ-return and eligibility traces).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from purerl import config as cfg
from purerl import envs, loop, optim, rollout
from purerl.envs import episode_stats
from purerl.envs.tabular import BUILDERS
from purerl.kernels import returns, value
from purerl.kernels import tabular as K

PREDICTION = (
    "mc_first_visit", "mc_every_visit", "td0", "td_n", "td_lambda",
    "td_lambda_accumulating", "td_lambda_replacing",
)  # fmt: skip
CONTROL = ("sarsa", "sarsa_n", "expected_sarsa", "q_learning")
METHODS = PREDICTION + CONTROL
OFFLINE = ("mc_first_visit", "mc_every_visit", "td_n", "td_lambda", "sarsa_n")


def _freeze_policy(policy: Any) -> Any:
    """An ``[S, A]`` table as nested tuples (hashable: the field is static); anything that
    is not a table of numbers stays as given, for ``__check_init__`` to refuse by name."""
    if policy is None:
        return None
    try:
        table = np.asarray(policy, float)
    except (TypeError, ValueError):
        return policy
    if table.ndim != 2:
        return policy
    return tuple(tuple(float(p) for p in row) for row in table)


class Config(eqx.Module):
    """Tabular hyperparameters. Defaults: Q-learning on the noisy 4×3 grid world, γ = 0.9."""

    env_id: str = cfg.environment("purerl/GridWorld-4x3")
    env_kwargs: tuple = cfg.env_kwargs_field()
    method: str = cfg.choice("q_learning", METHODS)
    num_episodes: int = cfg.count(2_000)
    n: int = cfg.count(4)  # steps of td_n and sarsa_n
    # Prediction: the evaluated policy, π[s][a] (``[S, A]``); None is uniform random.
    policy: tuple | None = eqx.field(default=None, static=True, converter=_freeze_policy)
    anneal_lr: bool = cfg.flag(False)  # decay α linearly to 0 over the episodes
    eval_every: int = cfg.count(0, minimum=0)  # episodes between evaluations; 0: none
    eval_episodes: int = cfg.count(10)

    lr: jax.Array = cfg.hyperparameter(0.1, 0.0, 1.0, low_open=True)
    gamma: jax.Array = cfg.hyperparameter(0.9, 0.0, 1.0)
    lambda_: jax.Array = cfg.hyperparameter(0.9, 0.0, 1.0)
    epsilon_start: jax.Array = cfg.hyperparameter(1.0, 0.0, 1.0)
    epsilon_end: jax.Array = cfg.hyperparameter(0.05, 0.0, 1.0)
    epsilon_decay: jax.Array = cfg.hyperparameter(0.5, 0.0, 1.0, low_open=True)

    def __check_init__(self):
        cfg.validate(self)
        cfg.require(
            self,
            "env_id",
            self.env_id in BUILDERS,
            f"must be a finite-MDP environment, one of {tuple(BUILDERS)}",
        )
        if self.control:
            cfg.require_annealing_window(
                self, "epsilon_decay", self.num_episodes, 1, "episodes", "epsilon_start",
                "epsilon_end",
            )  # fmt: skip
        if self.policy is not None:
            mdp = make_env(self).mdp
            pi = np.asarray(self.policy) if isinstance(self.policy, tuple) else np.zeros(0)
            cfg.require(
                self,
                "policy",
                pi.shape == (mdp.num_states, mdp.num_actions)
                and bool(np.all(pi >= 0))
                and np.allclose(pi.sum(-1), 1.0, atol=1e-5),
                f"must be [S={mdp.num_states}][A={mdp.num_actions}] action probabilities",
            )

    @property
    def num_updates(self) -> int:
        return self.num_episodes

    @property
    def control(self) -> bool:
        return self.method in CONTROL


class State(NamedTuple):
    table: jax.Array  # V [S] (prediction) or Q [S, A] (control)
    env_state: Any
    obs: jax.Array  # int32 state index the next episode starts from
    stats: episode_stats.EpisodeStats
    env_steps: jax.Array
    episode: jax.Array
    key: jax.Array


class Episode(NamedTuple):
    """One episode's transitions, padded to the time limit ``L``: ``[L]`` each."""

    s: jax.Array
    a: jax.Array
    r: jax.Array
    discount: jax.Array  # γ, 0 where terminated
    truncated: jax.Array
    s_next: jax.Array  # the state reached (before any reset)
    a_next: jax.Array  # the action the behaviour policy picks in s_next
    valid: jax.Array


class _Step(NamedTuple):
    """The carry of an episode's step loop."""

    table: jax.Array
    trace: jax.Array  # eligibility traces [S] (the TD(λ) backward view)
    env_state: Any
    s: jax.Array  # the current state
    a: jax.Array  # the action chosen in it
    t: jax.Array  # steps taken
    episode: Episode  # the transitions so far
    abs_td: jax.Array  # Σ |δ| of the online updates
    key: jax.Array
    done: jax.Array


def make_env(config: Config) -> envs.Environment:
    """The finite MDP with index observations (int32 state numbers)."""
    return envs.make(config.env_id, observation="index", **dict(config.env_kwargs))


def _epsilon(config: Config, episode: jax.Array) -> jax.Array:
    window = config.epsilon_decay * config.num_episodes
    return optim.linear_schedule(config.epsilon_start, config.epsilon_end, episode, window)


def _lr(config: Config, episode: jax.Array) -> jax.Array:
    if not config.anneal_lr:
        return config.lr
    return config.lr * (1.0 - episode / config.num_episodes)


def behaviour_probs(config: Config, table: jax.Array, s: jax.Array, epsilon: jax.Array):
    """π(·|s): ε-greedy in Q for control, the fixed ``policy`` for prediction."""
    if config.control:
        return K.epsilon_greedy_probs(table[s], epsilon)
    num_actions = make_env(config).action_space.n
    if config.policy is None:
        return jnp.full(num_actions, 1.0 / num_actions)
    return jnp.asarray(config.policy, jnp.float32)[s]


def init(config: Config, key: jax.Array) -> State:
    env = make_env(config)
    key, k_reset = jax.random.split(key)
    obs, env_state = env.reset(k_reset)
    S, A = env.mdp.num_states, env.mdp.num_actions
    return State(
        table=jnp.zeros((S, A) if config.control else (S,), jnp.float32),
        env_state=env_state,
        obs=obs,
        stats=episode_stats.init(1),
        env_steps=jnp.zeros((), jnp.int32),
        episode=jnp.zeros((), jnp.int32),
        key=key,
    )


def greedy_policy(config: Config, state: State) -> rollout.Policy:
    """Control: argmax_a Q(s, a) (the first maximal action on ties). Prediction: the
    evaluated policy ``config.policy`` itself (uniform random when None)."""

    def act(s, key):
        if config.control:
            return jnp.argmax(state.table[s]).astype(jnp.int32), {}
        probs = behaviour_probs(config, state.table, s, jnp.zeros(()))
        return jax.random.choice(key, probs.shape[0], p=probs).astype(jnp.int32), {}

    return act


def online_update(config: Config, table, trace, step: Episode, epsilon, lr):
    """One step's update of the online methods; returns (table, trace, td error)."""
    s, a, r, d, s2, a2 = step.s, step.a, step.r, step.discount, step.s_next, step.a_next
    method = config.method
    if method in ("td0", "td_lambda_accumulating", "td_lambda_replacing"):
        delta = r + d * table[s2] - table[s]
        if method == "td0":
            return table.at[s].add(lr * delta), trace, delta
        kind = method.removeprefix("td_lambda_")
        trace = K.eligibility_trace(trace, s, config.gamma * config.lambda_, kind)
        return table + lr * delta * trace, trace, delta
    if method == "sarsa":
        target = value.sarsa_target(r, d, table[s2], a2)
    elif method == "expected_sarsa":
        target = value.expected_sarsa_target(
            r, d, table[s2], K.epsilon_greedy_probs(table[s2], epsilon)
        )
    else:  # q_learning
        target = value.q_learning_target(r, d, table[s2])
    delta = value.q_td_error(table[s], a, target)
    return table.at[s, a].add(lr * delta), trace, delta


def offline_update(config: Config, table, ep: Episode, lr):
    """The summed end-of-episode update of the offline methods; returns (table, errors [L])."""
    method = config.method
    if method == "sarsa_n":
        v_next, v_now = table[ep.s_next, ep.a_next], table[ep.s, ep.a]
    else:
        v_next, v_now = table[ep.s_next], table[ep.s]
    if method in ("mc_first_visit", "mc_every_visit"):
        target = returns.discounted_returns(ep.r, ep.discount, None, ep.truncated)
    elif method in ("td_n", "sarsa_n"):
        target = returns.n_step_returns(ep.r, ep.discount, v_next, config.n, ep.truncated)
    else:  # td_lambda, forward view
        target = returns.lambda_returns(ep.r, ep.discount, v_next, config.lambda_, ep.truncated)
    mask = ep.valid
    if method == "mc_first_visit":
        mask = K.first_visits(ep.s, ep.valid)
    error = target - v_now
    index = (ep.s, ep.a) if method == "sarsa_n" else ep.s
    return table + lr * K.table_increment(table.shape, index, error, mask), error


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """Run one episode from ``state.obs``, learning online or at its end."""
    env = make_env(config)
    limit = env.max_episode_steps
    epsilon = _epsilon(config, state.episode)
    lr = _lr(config, state.episode)
    key, k_first, k_loop = jax.random.split(state.key, 3)
    sample = lambda k, table, s: jax.random.choice(  # noqa: E731
        k, env.action_space.n, p=behaviour_probs(config, table, s, epsilon)
    ).astype(jnp.int32)

    blank = Episode(
        *(jnp.zeros(limit, jnp.int32) for _ in range(2)),
        jnp.zeros(limit), jnp.zeros(limit), jnp.zeros(limit, bool),
        jnp.zeros(limit, jnp.int32), jnp.zeros(limit, jnp.int32), jnp.zeros(limit, bool),
    )  # fmt: skip

    def running(c: _Step):
        return ~c.done

    def body(c: _Step):
        key, k_env, k_act = jax.random.split(c.key, 3)
        obs, env_state, r, term, trunc, info = env.step(k_env, c.env_state, c.a)
        s_next = info["final_obs"]
        a_next = sample(k_act, c.table, s_next)
        step = Episode(c.s, c.a, r, config.gamma * (1.0 - term), trunc, s_next, a_next, True)
        ep = jax.tree.map(lambda buf, x: buf.at[c.t].set(x), c.episode, step)
        table, trace, abs_td = c.table, c.trace, c.abs_td
        if config.method not in OFFLINE:
            table, trace, delta = online_update(config, table, trace, step, epsilon, lr)
            abs_td = abs_td + jnp.abs(delta)
        return _Step(
            table=table, trace=trace, env_state=env_state, s=obs, a=a_next, t=c.t + 1,
            episode=ep, abs_td=abs_td, key=key, done=jnp.logical_or(term, trunc),
        )  # fmt: skip

    s0 = state.obs
    first = _Step(
        table=state.table, trace=jnp.zeros(state.table.shape[0]), env_state=state.env_state,
        s=s0, a=sample(k_first, state.table, s0), t=jnp.zeros((), jnp.int32), episode=blank,
        abs_td=jnp.zeros(()), key=k_loop, done=jnp.asarray(False),
    )  # fmt: skip
    last = jax.lax.while_loop(running, body, first)
    table, env_state, obs, length, ep, abs_td = (
        last.table,
        last.env_state,
        last.s,
        last.t,
        last.episode,
        last.abs_td,
    )
    if config.method in OFFLINE:
        table, error = offline_update(config, table, ep, lr)
        abs_td = jnp.sum(jnp.where(ep.valid, jnp.abs(error), 0.0))

    ep_return = jnp.sum(ep.r)[None]
    stats = episode_stats.record(state.stats, jnp.ones(1, bool), ep_return, length[None])
    env_steps = state.env_steps + length
    metrics = {
        **episode_stats.summary(stats),
        "env_steps": env_steps,
        "td_error": abs_td / length,
        "epsilon": epsilon,
    }
    state = State(
        table=table,
        env_state=env_state,
        obs=obs,
        stats=stats,
        env_steps=env_steps,
        episode=state.episode + 1,
        key=key,
    )
    return state, metrics


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_episodes`` × ``update`` (one episode each) in one scan
    (``loop.train``)."""
    return loop.train(loop.Algorithm(init, update, greedy_policy, make_env), config, key)
