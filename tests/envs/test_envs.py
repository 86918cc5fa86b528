"""The environment interface: auto-reset, final_obs, terminated vs truncated, the registry."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl import envs
from purerl.envs import episode_stats


def rollout(env, steps, num_envs=4, seed=0, action_fn=None):
    """Run ``steps`` steps of a random (or given) policy; return stacked outputs."""
    key = jax.random.key(seed)
    obs, state = jax.vmap(env.reset)(jax.random.split(key, num_envs))

    def step(carry, k):
        obs, state = carry
        k_a, k_e = jax.random.split(k)
        if action_fn is not None:
            action = action_fn(obs)
        elif envs.is_discrete(env):
            action = jax.random.randint(k_a, (num_envs,), 0, env.action_space.n)
        else:
            action = jax.random.uniform(
                k_a, (num_envs, *env.action_space.shape), minval=-1, maxval=1
            )
        nobs, state, r, term, trunc, info = jax.vmap(env.step)(
            jax.random.split(k_e, num_envs), state, action
        )
        return (nobs, state), (obs, nobs, r, term, trunc, info["final_obs"])

    _, out = jax.lax.scan(step, (obs, state), jax.random.split(key, steps))
    return jax.tree.map(np.asarray, out)


def check_interface(env, out):
    obs, nobs, r, term, trunc, final = out
    assert obs.shape[2:] == env.observation_shape and final.shape == nobs.shape
    assert r.dtype == np.float32 and term.dtype == bool and trunc.dtype == bool
    assert not np.any(term & trunc), "terminated and truncated must never both be set"
    cont = ~(term | trunc)
    # Where the episode goes on, the next observation is the final observation (gymnax
    # computes the two separately, so allow float rounding).
    np.testing.assert_allclose(nobs[cont], final[cont], rtol=1e-5, atol=1e-6)
    # The observation after an ending step starts the next episode: obs[t+1] == nobs[t].
    np.testing.assert_array_equal(obs[1:], nobs[:-1])


def test_gymnax_cartpole_truncates_at_the_time_limit_and_resets():
    env = envs.make("CartPole-v1", max_episode_steps=20)
    # Push right when the pole leans right: balances for long enough to reach the limit.
    out = rollout(env, 60, action_fn=lambda o: (o[:, 2] + 0.5 * o[:, 3] > 0).astype(jnp.int32))
    check_interface(env, out)
    _, nobs, _, term, trunc, final = out
    assert trunc.sum() > 0
    # A truncated step happens exactly every 20 steps of an uninterrupted episode.
    t_idx = np.argwhere(trunc)
    assert set((t_idx[:, 0] + 1) % 20) == {0} or term.any()
    ended = term | trunc
    assert np.any(np.abs(nobs[ended] - final[ended]) > 0), "the reset observation differs"


def test_gymnax_random_policy_terminates():
    env = envs.make("CartPole-v1")
    out = rollout(env, 200)
    check_interface(env, out)
    assert out[3].sum() > 0 and out[4].sum() == 0
    assert env.action_space == envs.Discrete(2) and env.max_episode_steps == 500


def test_gymnax_continuous_action_space():
    env = envs.make("Pendulum-v1")
    assert isinstance(env.action_space, envs.Box) and env.action_space.shape == (1,)
    check_interface(env, rollout(env, 210))


def test_unknown_env_id_names_the_field_and_suggests():
    with pytest.raises(
        ValueError, match=r"env_id: unknown environment id 'CartPole-v2'.*CartPole-v1"
    ):
        envs.make("CartPole-v2")
    assert "CartPole-v1" in envs.registered() and "brax/hopper" in envs.registered()


def test_make_is_cached():
    assert envs.make("CartPole-v1") is envs.make("CartPole-v1")


def test_episode_stats_window_keeps_the_newest_and_is_never_nan():
    stats = episode_stats.init(num_envs=2, window=3)
    s = episode_stats.summary(stats)
    assert float(s["episode_return"]) == 0.0 and int(s["episodes"]) == 0
    done = np.array([[1, 0], [1, 1], [0, 1], [1, 1]], bool)
    ret = np.array([[1.0, 9.0], [2.0, 3.0], [9.0, 4.0], [5.0, 6.0]], np.float32)
    length = np.ones_like(done, np.int32)
    stats = episode_stats.record(stats, jnp.asarray(done), jnp.asarray(ret), jnp.asarray(length))
    s = episode_stats.summary(stats)
    # Completed in row-major order: 1, 2, 3, 4, 5, 6 -> the window holds 4, 5, 6.
    assert int(s["episodes"]) == 6
    np.testing.assert_allclose(float(s["episode_return"]), 5.0)
    np.testing.assert_array_equal(np.sort(np.asarray(stats.window_return)), [4.0, 5.0, 6.0])


def test_episode_stats_step_accumulates_and_resets():
    stats = episode_stats.init(num_envs=2)
    stats, ret, length = episode_stats.step(stats, jnp.array([1.0, 2.0]), jnp.array([False, True]))
    np.testing.assert_array_equal(ret, [1.0, 2.0])
    stats, ret, length = episode_stats.step(stats, jnp.array([1.0, 2.0]), jnp.array([True, False]))
    np.testing.assert_array_equal(ret, [2.0, 2.0])
    np.testing.assert_array_equal(length, [2, 1])
    np.testing.assert_array_equal(stats.running_return, [0.0, 2.0])


def test_tabular_gridworld_terminates_at_exits_and_truncates_at_the_limit():
    env = envs.make("purerl/GridWorld-4x3", max_episode_steps=8)
    out = rollout(env, 200)
    check_interface(env, out)
    obs, nobs, r, term, trunc, final = out
    assert env.observation_shape == (12,) and np.all(obs.sum(-1) == 1.0)
    done_state = 11  # the terminal state after the exits
    assert term.any() and trunc.any()
    np.testing.assert_array_equal(np.argmax(final[term], -1), done_state)
    # Exit rewards are ±1 and only ever collected on the terminating step.
    assert set(np.unique(r[term])) <= {-1.0, 1.0} and np.all(r[~term] == 0.0)
    start = envs.tabular.GRID_CELLS.index(envs.tabular.GRID_START)
    np.testing.assert_array_equal(np.argmax(nobs[term | trunc], -1), start)


def test_tabular_index_observations_and_deterministic_moves():
    env = envs.make("purerl/FrozenLake-4x4", slippery=False, observation="index")
    assert env.observation_shape == () and env.action_space == envs.Discrete(4)
    # right, right, down, down, down, right reaches the goal (row 3, col 3) without holes.
    actions = jnp.array([2, 2, 1, 1, 1, 2])
    _, state = env.reset(jax.random.key(0))
    rewards, states = [], []
    for a in actions:
        obs, state, r, term, trunc, info = env.step(jax.random.key(1), state, a)
        states.append(int(info["final_obs"]))
        rewards.append(float(r))
    assert states == [1, 2, 6, 10, 14, 15] and rewards[-1] == 1.0 and bool(term)
    assert int(obs) == 0  # reset to the start


def test_unknown_tabular_option_is_a_value_error():
    with pytest.raises(ValueError, match="observation"):
        envs.make("purerl/GridWorld-4x3", observation="pixels")


def test_noisy_chain_has_zero_mean_rewards_and_fixed_length_episodes():
    env = envs.make("purerl/NoisyChain", length=3, num_actions=5, reward_noise=2.0)
    assert env.action_space == envs.Discrete(5)
    out = rollout(env, 300, num_envs=8)
    check_interface(env, out)
    _, _, r, term, trunc, _ = out
    assert not trunc.any() and term.sum() == 8 * 100  # every third step ends an episode
    assert abs(r.mean()) < 4 * 2.0 / np.sqrt(r.size) and 1.8 < r.std() < 2.2


def test_brax_swimmer_fluid_model_works_on_this_jax():
    """brax's fluid model calls jnp.clip(x, a_min=...), which jax 0.10 removed; the adapter
    patches it (stepping swimmer would otherwise raise a TypeError)."""
    import jax.numpy as jnp
    from brax import fluid

    from purerl.envs.brax import _patch_brax_fluid

    _patch_brax_fluid()  # what building any brax adapter does first
    np.testing.assert_allclose(fluid.jp.clip(jnp.array([-1.0, 2.0]), a_min=0.0), [0.0, 2.0])


def test_importing_brax_drops_mujocos_warp_notices_and_keeps_other_output(
    tmp_path, monkeypatch, capsys
):
    """mujoco prints "Failed to import warp: …" on stdout when Warp is not installed; the
    adapter imports brax without those lines, and passes on anything else printed, even
    from an import that fails."""
    from purerl.envs.brax import WARP_NOTICES, import_without

    (tmp_path / "noisy_ok.py").write_text(
        "print('Failed to import warp: no module')\nprint('kept')\n"
        "print('Failed to import mujoco_warp: no module')\nVALUE = 3\n"
    )
    (tmp_path / "noisy_broken.py").write_text("print('before the error')\nraise ImportError('x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_without("noisy_ok", WARP_NOTICES).VALUE == 3
    assert capsys.readouterr().out == "kept\n"
    with pytest.raises(ImportError, match="x"):
        import_without("noisy_broken", WARP_NOTICES)
    assert capsys.readouterr().out == "before the error\n"


def test_an_adapter_first_built_inside_a_trace_holds_no_tracers():
    """``envs.make`` is cached; building it under ``jit`` must not leak tracers into later,
    untraced uses (brax computes arrays while loading its system)."""
    import jax

    from purerl.envs import _make

    _make.cache_clear()
    built = []

    @jax.jit
    def first_use(x):
        built.append(envs.make("brax/inverted_pendulum"))
        return x

    first_use(1.0)
    leaves = jax.tree.leaves(built[0]._env.sys)
    assert leaves and not any(isinstance(x, jax.core.Tracer) for x in leaves)
