"""DQN: n-step transitions entering the replay buffer, the target network schedule, and the
learning tests of issue #4."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from purerl.algos import dqn
from tests.algos.cases import DQN_SMALL
from tests.algos.learning import final_metrics, final_returns


def _reference(r, term, cut, final, n, gamma, t, e):
    g, scale = 0.0, 1.0
    for i in range(t, t + n):
        g += scale * r[i, e]
        scale *= 0.0 if term[i, e] else gamma
        if cut[i, e]:
            return g, scale, final[i, e]
    return g, scale, final[t + n - 1, e]


@given(st.integers(0, 2**31 - 1), st.integers(1, 4))
def test_n_step_window_folds_transitions_like_a_numpy_loop(seed, n):
    rng = np.random.default_rng(seed)
    T, N, gamma = 12, 3, 0.9
    r = rng.normal(size=(T, N)).astype(np.float32)
    term = rng.random((T, N)) < 0.15
    cut = term | (rng.random((T, N)) < 0.15)
    obs = rng.normal(size=(T, N, 2)).astype(np.float32)
    final = rng.normal(size=(T, N, 2)).astype(np.float32)
    window = dqn.Window(
        jnp.zeros((n, N, 2)), jnp.zeros((n, N), jnp.int32), jnp.zeros((n, N)),
        jnp.zeros((n, N)), jnp.zeros((n, N), bool), jnp.zeros((n, N, 2)), jnp.int32(0),
    )  # fmt: skip
    push = jax.jit(dqn._push)
    for t in range(T):
        step = dqn.Window(
            obs[t], jnp.full(N, t, jnp.int32), r[t], np.where(term[t], 0.0, gamma), cut[t],
            final[t], window.filled + 1,
        )  # fmt: skip
        window, out = push(window, step)
        start = t - n + 1
        assert bool(np.all(out.valid)) == (start >= 0)
        if start < 0:
            continue
        np.testing.assert_array_equal(out.action, start)
        np.testing.assert_allclose(out.obs, obs[start])
        for e in range(N):
            g, disc, nxt = _reference(r, term, cut, final, n, gamma, start, e)
            np.testing.assert_allclose(out.reward[e], g, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(out.discount[e], disc, rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(out.next_obs[e], nxt)


def test_target_network_is_copied_every_interval_and_fixed_between():
    config = dqn.Config(**DQN_SMALL)  # 2 envs, target every 8 steps: every 4th update
    state = dqn.init(config, jax.random.key(0))
    step = jax.jit(lambda s: dqn.update(config, s))
    params = lambda m: jax.tree.leaves(m)  # noqa: E731
    for u in range(1, 13):
        previous_target = state.target
        state, _ = step(state)
        same_as_model = all(
            np.array_equal(a, b) for a, b in zip(params(state.target), params(state.model))
        )
        unchanged = all(
            np.array_equal(a, b) for a, b in zip(params(state.target), params(previous_target))
        )
        if (2 * u) % 8 == 0:
            assert same_as_model, u
        else:
            assert unchanged, u


# CleanRL's CartPole settings (the defaults) with the learning rate annealed linearly to 0,
# and a larger replay buffer. Runs reach 500, and with CleanRL's 10k buffer single seeds
# then collapse late (the buffer holds only the last 1,000 steps of each environment): on 32
# seeds (``split(key(0), 32)``, 500k steps each) plain DQN ended at a mean of 494.7 with one
# seed at 339, Double+Dueling+PER at 485.7 with three at 365-392 — 4-seed means below 475
# about one time in 8 and one in 3. Every setting was measured on 32 such seeds.


def test_dqn_solves_cartpole_in_500k_steps():
    """Threshold (issue #4): mean final return (last 100 episodes) of 4 seeds ≥ 475; the
    greedy (argmax Q) policy's return, 16 episodes after the last update, ≥ 475 too. Plain
    DQN at lr 1e-4 (at 2.5e-4 late collapses left single seeds at 260–330) with a 50k
    buffer: 32 seeds ended at a mean of 498.6 (lowest 466.2); 32 others at 496.0 (lowest
    447.7), their greedy returns at 497.6 (lowest 452.6)."""
    config = dqn.Config(lr=1e-4, anneal_lr=True, eval_episodes=16, buffer_size=50_000)
    config = dataclasses.replace(config, eval_every=config.num_updates)
    final = final_metrics(dqn, config, name="DQN")
    assert final["episode_return"].mean() >= 475, final["episode_return"]
    assert final["eval_return"].mean() >= 475, final["eval_return"]


def test_double_dueling_prioritized_dqn_solves_cartpole_in_500k_steps():
    """Threshold (issue #4): mean final return of the seeds ≥ 475, here 6 seeds. Prioritized
    replay needs lr 2.5e-4 (at 1e-4 a mean of 330); a buffer of 50k made it slower (mean
    424: old transitions keep high priorities); 20k, gradients clipped at norm 10 and a
    target copy every 1,000 environment steps (the other settings CleanRL's): 64 seeds ended
    at a mean of 495.3, one at 394.6 and the rest above 459. A 4-seed mean of those would
    fall below 475 about one time in 16 (bootstrap), a 6-seed mean one time in 100."""
    config = dqn.Config(
        double=True, dueling=True, prioritized=True, lr=2.5e-4, anneal_lr=True,
        buffer_size=20_000, max_grad_norm=10.0, target_update_interval=1_000,
    )  # fmt: skip
    final = final_returns(dqn, config, seeds=6, name="Double+Dueling+PER DQN")
    assert final.mean() >= 475, final
