"""DDPG, TD3 and SAC: time-limit truncations bootstrap and terminations do not (one test per
algorithm), TD3's delayed updates, SAC's fixed and learned temperature, DDPG's defaults; the
uniform random actions that fill the replay buffer before learning starts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl import envs, offpolicy, rollout
from purerl.algos import ddpg, sac, td3
from purerl.nets import ensemble_values

SMALL = dict(num_envs=3, buffer_size=8, batch_size=3, learning_starts=0, hidden_sizes=(16,))


def _rollout_step(key, num_envs=3):
    """One collected step ``[1, 3]``: env 0 truncated, env 1 terminated, env 2 running. The
    final observations differ from anything else in the batch."""
    k_obs, k_final, k_act, k_r = jax.random.split(key, 4)
    return rollout.Transition(
        obs=jax.random.normal(k_obs, (1, num_envs, 3)),
        action=jax.random.uniform(k_act, (1, num_envs, 1), minval=-2.0, maxval=2.0),
        reward=jax.random.normal(k_r, (1, num_envs)),
        terminated=jnp.array([[False, True, False]]),
        truncated=jnp.array([[True, False, False]]),
        final_obs=5.0 + jax.random.normal(k_final, (1, num_envs, 3)),
        ep_return=jnp.zeros((1, num_envs)),
        ep_length=jnp.zeros((1, num_envs), jnp.int32),
        extras={},
    )


@pytest.mark.parametrize("module", [ddpg, td3, sac], ids=["ddpg", "td3", "sac"])
def test_truncated_transitions_bootstrap_from_the_final_observation_terminated_do_not(module):
    config = module.Config(**SMALL, gamma=0.9)
    state = module.init(config, jax.random.key(0))
    traj = _rollout_step(jax.random.key(1))
    items = jax.tree.map(lambda x: x[:3], offpolicy.store(config, state.replay, traj).data)
    np.testing.assert_array_equal(items.discount, np.float32([0.9, 0.0, 0.9]))
    np.testing.assert_array_equal(items.next_obs, traj.final_obs[0])

    key = jax.random.key(2)
    y = module.critic_target(config, state.nets, items, key)
    # the bootstrap term alone: the same target with reward 0 and discount 1
    boot = module.critic_target(config, state.nets, items._replace(
        reward=jnp.zeros(3), discount=jnp.ones(3)), key)  # fmt: skip
    np.testing.assert_allclose(y, items.reward + items.discount * boot, rtol=1e-5, atol=1e-5)
    assert y[1] == items.reward[1]  # terminated: r only
    assert abs(boot[0]) > 1e-3  # truncated: a real bootstrap value …
    reset_obs = items._replace(next_obs=items.obs, reward=jnp.zeros(3), discount=jnp.ones(3))
    assert not np.allclose(boot, module.critic_target(config, state.nets, reset_obs, key))
    # … from the final observation (DDPG/TD3 without smoothing noise: Q'(s', μ'(s')))
    if module is not sac:
        nets = state.nets
        direct = jax.vmap(
            lambda o: jnp.min(ensemble_values(nets.target_critic, o, nets.target_actor(o)))
        )
        quiet = module.Config(**SMALL, gamma=0.9, target_noise=0.0)
        boot_quiet = module.critic_target(quiet, nets, items._replace(
            reward=jnp.zeros(3), discount=jnp.ones(3)), key)  # fmt: skip
        np.testing.assert_allclose(boot_quiet, direct(traj.final_obs[0]), rtol=1e-5, atol=1e-6)

    ablation = module.Config(**SMALL, gamma=0.9, bootstrap_truncated=False)
    items = offpolicy.store(ablation, state.replay, traj).data
    np.testing.assert_array_equal(items.discount[:3], np.float32([0.0, 0.0, 0.9]))


def _batch(key, n=3):
    traj = _rollout_step(key, n)
    return jax.tree.map(lambda x: x[0], offpolicy.Transition(
        traj.obs, traj.action, traj.reward, jnp.full((1, n), 0.9), traj.final_obs))  # fmt: skip


def _changed(a, b) -> bool:
    return any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_td3_moves_the_actor_and_targets_every_policy_delay_steps_the_critics_every_step():
    config = td3.Config(**SMALL, policy_delay=2)
    nets = td3.init(config, jax.random.key(0)).nets
    step = jax.jit(lambda n, b, k: td3.gradient_step(config, n, b, k))
    one, _ = step(nets, _batch(jax.random.key(1)), jax.random.key(2))
    assert _changed(one.critic.model, nets.critic.model)
    assert not _changed(one.actor.model, nets.actor.model)
    assert not _changed(
        (one.target_actor, one.target_critic), (nets.target_actor, nets.target_critic)
    )
    two, _ = step(one, _batch(jax.random.key(3)), jax.random.key(4))
    assert _changed(two.actor.model, one.actor.model)
    assert _changed(two.target_actor, one.target_actor)
    assert _changed(two.target_critic, one.target_critic)


@pytest.mark.parametrize("autotune", [False, True])
def test_sac_temperature_is_fixed_without_autotune_and_learned_with_it(autotune):
    config = sac.Config(**SMALL, autotune=autotune, alpha=0.3)
    nets = sac.init(config, jax.random.key(0)).nets
    new, metrics = sac.gradient_step(config, nets, _batch(jax.random.key(1)), jax.random.key(2))
    assert float(metrics["alpha"]) == pytest.approx(0.3)
    assert (float(new.log_alpha.model) != float(nets.log_alpha.model)) == autotune


def test_ddpg_is_td3_with_one_critic_no_smoothing_and_no_delay():
    config = ddpg.Config()
    assert isinstance(config, td3.Config)
    assert (config.num_critics, config.policy_delay, float(config.target_noise)) == (1, 1, 0.0)
    assert ddpg.train is td3.train


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_random_actions_cover_the_action_space_and_stay_inside_it(env_id):
    env = envs.make(env_id)
    actions = np.asarray(
        jax.vmap(lambda k: offpolicy.random_action(env, k))(
            jax.random.split(jax.random.key(0), 512)
        )
    )
    if envs.is_discrete(env):
        assert actions.dtype == np.int32
        np.testing.assert_array_equal(np.unique(actions), np.arange(env.action_space.n))
        return
    low, high = (np.asarray(b) for b in offpolicy.action_box(env))
    assert actions.shape == (512, *env.action_space.shape)
    assert np.all(actions >= low) and np.all(actions <= high)
    assert np.all(actions.min(0) < low + 0.1 * (high - low))  # spread over the whole box
    assert np.all(actions.max(0) > high - 0.1 * (high - low))
