"""``purerl.evaluate``: whole episodes, auto-reset handled, truncation respected — checked
against a plain Python loop over a tabular MDP whose returns are known."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import purerl
from purerl.envs.tabular import TabularEnv


def table_policy(actions):
    """Deterministic policy from a state → action table, on one-hot observations."""
    table = jnp.asarray(actions, jnp.int32)
    return lambda obs, key: (table[jnp.argmax(obs)], {})


def python_episode_return(env: TabularEnv, actions) -> float:
    """One episode of a deterministic policy on a deterministic MDP, as a plain loop."""
    P, R, terminal = (np.asarray(x) for x in (env.mdp.P, env.mdp.R, env.mdp.terminal))
    s, total = int(np.argmax(env.mdp.init)), 0.0
    for _ in range(env.max_episode_steps):
        a = actions[s]
        s_next = int(np.argmax(P[s, a]))
        total += float(R[s, a, s_next])
        if terminal[s_next]:
            break
        s = s_next
    return total


@functools.cache
def deterministic_grid(limit: int, living: float):
    """The noise-free grid and its evaluation of 3 episodes of a traced action table."""
    env = TabularEnv(
        "purerl/GridWorld-4x3", noise=0.0, living_reward=living, max_episode_steps=limit
    )
    run = jax.jit(lambda actions, key: purerl.evaluate(env, table_policy(actions), key, 3))
    return env, run


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=12, max_size=12),
    st.sampled_from([1, 4, 7, 30]),
    st.sampled_from([0.0, -0.04]),
)
def test_evaluate_equals_a_python_loop_on_a_deterministic_grid(actions, limit, living):
    """Episodes that exit (return 1 or −1 plus living rewards) and episodes cut at the
    time limit alike; the next episode after the automatic reset never counts."""
    env, run = deterministic_grid(limit, living)
    returns = run(jnp.asarray(actions), jax.random.key(0))
    np.testing.assert_allclose(returns, python_episode_return(env, actions), rtol=1e-5, atol=1e-5)


def test_evaluate_on_a_stochastic_mdp_matches_the_exact_finite_horizon_value():
    """Slippery FrozenLake, a good fixed policy, a 12-step limit: the mean of 4096 episodes
    is within 4 standard errors of the exact expected return computed backwards in NumPy."""
    env = TabularEnv("purerl/FrozenLake-4x4", max_episode_steps=12)
    P, R, terminal = (np.asarray(x, np.float64) for x in (env.mdp.P, env.mdp.R, env.mdp.terminal))
    q = np.zeros(P.shape[:2])
    for _ in range(200):  # value iteration, γ = 0.95, for a policy that reaches the goal
        q = np.sum(P * (R + 0.95 * (1.0 - terminal) * q.max(axis=1)), axis=2)
    actions = q.argmax(axis=1)
    idx = np.arange(len(actions))
    P_pi, R_pi = P[idx, actions], R[idx, actions]  # [S, S]
    v = np.zeros(len(actions))
    for _ in range(env.max_episode_steps):  # v_h = E[r + (1 − terminal') v_{h−1}(s')]
        v = np.sum(P_pi * (R_pi + (1.0 - terminal) * v), axis=1)
    exact = float(np.asarray(env.mdp.init) @ v)
    returns = np.asarray(purerl.evaluate(env, table_policy(actions), jax.random.key(1), 4096))
    se = returns.std() / np.sqrt(returns.size)
    assert 0.05 < exact < 0.95 and abs(returns.mean() - exact) < 4 * se + 1e-6


def test_evaluate_vmaps_over_keys_and_stochastic_policies_use_their_key():
    env = TabularEnv("purerl/GridWorld-4x3", max_episode_steps=20)

    def random_policy(obs, key):
        return jax.random.randint(key, (), 0, 4), {}

    run = jax.jit(jax.vmap(lambda k: purerl.evaluate(env, random_policy, k, 64)))
    keys = jax.random.split(jax.random.key(2), 3)
    out = np.asarray(run(keys))
    assert out.shape == (3, 64) and set(np.unique(out)) <= {-1.0, 0.0, 1.0}
    assert not np.array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[2], purerl.evaluate(env, random_policy, keys[2], 64))


def test_training_loop_evaluates_after_the_first_every_kth_and_the_last_update(monkeypatch):
    """``loop.run``'s schedule, with ``evaluate`` replaced by "how many updates so far":
    7 updates, ``eval_every=3`` → evaluations after updates 1, 3, 6 and 7, carried between;
    a chunked run (updates 4–7 from the carry of 1–3) gives the same sequence."""
    from types import SimpleNamespace

    from purerl import loop

    monkeypatch.setattr(loop, "evaluate", lambda algo, config, state, key: state.astype(float))
    algo = loop.Algorithm(
        init=lambda config, key: jnp.zeros((), jnp.int32),
        update=lambda config, state: (state + 1, {}),
        greedy_policy=None,
    )
    config = SimpleNamespace(eval_every=3, num_updates=7, eval_episodes=1)
    expected = [1, 1, 3, 3, 3, 6, 7]
    _, metrics = loop.train(algo, config, jax.random.key(0))
    np.testing.assert_array_equal(metrics["eval_return"], expected)
    progress, first = loop.run(algo, config, loop.start(algo, config, jax.random.key(0)), 0, 3)
    _, rest = loop.run(algo, config, progress, 3, 4)
    chunked = np.concatenate([first["eval_return"], rest["eval_return"]])
    np.testing.assert_array_equal(chunked, expected)
