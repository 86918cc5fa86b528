"""The environment contract, checked on one id from every backend in ``envs.BACKENDS``:
shapes and dtypes, terminated and truncated never both, truncation exactly at the limit,
automatic reset with ``final_obs``; and per-dimension ``Box`` bounds through the collector."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl import envs, offpolicy, rollout
from purerl.envs.interface import box

LIMIT = 7
# (id, constructor options giving a short time limit): one per backend prefix.
PER_BACKEND = {
    "": ("CartPole-v1", dict(max_episode_steps=LIMIT)),
    "brax/": ("brax/inverted_pendulum", dict(episode_length=LIMIT)),
    "purerl/": ("purerl/GridWorld-4x3", dict(max_episode_steps=LIMIT)),
}
STEPS, NUM_ENVS = 30, 4


def test_every_backend_has_a_case_and_its_ids_are_registered():
    assert {b.prefix for b in envs.BACKENDS} == set(PER_BACKEND)
    for env_id, _ in PER_BACKEND.values():
        assert env_id in envs.registered()


@pytest.fixture(scope="module", params=list(PER_BACKEND.values()), ids=list(PER_BACKEND))
def steps(request):
    """Reset, then ``STEPS`` steps of a random policy in ``NUM_ENVS`` environments, through
    ``envs.step_batch`` (the path the collector takes)."""
    env_id, kwargs = request.param
    env = envs.make(env_id, **kwargs)

    def run(key):
        k_reset, k_run = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, NUM_ENVS))

        def step(carry, k):
            obs, state = carry
            k_act, k_env = jax.random.split(k)
            act = functools.partial(offpolicy.random_action, env)
            action = jax.vmap(act)(jax.random.split(k_act, NUM_ENVS))
            out = envs.step_batch(env, jax.random.split(k_env, NUM_ENVS), state, action)
            nobs, state, reward, term, trunc, info = out
            return (nobs, state), (obs, nobs, reward, term, trunc, info["final_obs"])

        return obs, jax.lax.scan(step, (obs, state), jax.random.split(k_run, STEPS))[1]

    first, out = jax.jit(run)(jax.random.key(0))
    return env, np.asarray(first), jax.tree.map(np.asarray, out)


def test_reset_and_step_shapes_and_dtypes(steps):
    env, first, (obs, nobs, reward, term, trunc, final) = steps
    assert first.shape == (NUM_ENVS, *env.observation_shape) and first.dtype == np.float32
    for x in (obs, nobs, final):
        assert x.shape == (STEPS, NUM_ENVS, *env.observation_shape) and x.dtype == np.float32
    for x, dtype in ((reward, np.float32), (term, bool), (trunc, bool)):
        assert x.shape == (STEPS, NUM_ENVS) and x.dtype == dtype
    assert env.max_episode_steps == LIMIT


def test_terminated_and_truncated_are_never_both_and_truncation_is_at_the_limit(steps):
    env, _, (_, _, _, term, trunc, _) = steps
    assert not np.any(term & trunc)
    assert trunc.any(), "a 30-step run with a 7-step limit must truncate"
    for n in range(NUM_ENVS):
        length = 0
        for t in range(STEPS):
            length += 1
            assert length <= LIMIT
            assert trunc[t, n] == (length == LIMIT and not term[t, n]), (t, n, length)
            if term[t, n] or trunc[t, n]:
                length = 0


def test_automatic_reset_keeps_the_final_observation(steps):
    env, first, (obs, nobs, _, term, trunc, final) = steps
    np.testing.assert_array_equal(obs[0], first)
    np.testing.assert_array_equal(obs[1:], nobs[:-1])  # the carried obs is the next one
    going_on = ~(term | trunc)
    np.testing.assert_allclose(nobs[going_on], final[going_on], rtol=1e-5, atol=1e-6)
    ended = ~going_on
    # After an ending step the observation belongs to a fresh episode, not the final one.
    assert np.any(np.abs(nobs[ended] - final[ended]) > 1e-6)


def test_brax_batched_step_equals_the_vmapped_step():
    """brax's ``step_batch`` (resets computed only when an episode in the batch ended) gives
    ``vmap(step)``'s episodes: the same ends, observations equal up to float rounding."""
    env_id, kwargs = PER_BACKEND["brax/"]
    env = envs.make(env_id, **kwargs)
    obs, state = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), NUM_ENVS))
    action = jnp.zeros((NUM_ENVS, *env.action_space.shape))

    def run(step):
        def body(state, k):
            out = step(jax.random.split(k, NUM_ENVS), state, action)
            return out[1], (out[0], out[2], out[3], out[4], out[5]["final_obs"])

        return jax.lax.scan(body, state, jax.random.split(jax.random.key(1), STEPS))[1]

    batched = jax.jit(lambda: run(env.step_batch))()
    vmapped = jax.jit(lambda: run(jax.vmap(env.step)))()
    assert np.asarray(batched[3] | batched[2]).any()
    for a, b in zip(batched, vmapped):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(batched[2], vmapped[2])
    np.testing.assert_array_equal(batched[3], vmapped[3])


class _EchoEnv:
    """A one-step-per-episode environment whose observation is the action it received."""

    env_id = "test/echo"
    observation_shape = (2,)
    action_space = box([-1.0, -5.0], [1.0, 0.5], (2,))
    max_episode_steps = 1

    def reset(self, key):
        return jnp.zeros(2), jnp.zeros((), jnp.int32)

    def step(self, key, state, action):
        info = {"final_obs": action}
        return jnp.zeros(2), state, jnp.float32(0.0), jnp.bool_(False), jnp.bool_(True), info


def test_box_clips_each_dimension_to_its_own_bounds_in_the_collector():
    """Bounds low = [−1, −5], high = [1, 0.5]: each coordinate is clipped to its own."""
    env = _EchoEnv()
    carry = rollout.reset(env, jax.random.key(0), 1)
    collect = jax.jit(
        lambda a: rollout.collect(env, lambda obs, key: (a, {}), carry, jax.random.key(1), 1)[0]
    )
    for row in ([3.0, 3.0], [-3.0, -3.0], [0.5, -7.0], [-0.2, 0.1], [-1.0, 0.5]):
        traj = collect(jnp.asarray(row))
        sent = np.asarray(traj.final_obs[0, 0])
        np.testing.assert_array_equal(
            sent, np.clip(row, [-1.0, -5.0], [1.0, 0.5]).astype(np.float32)
        )
        np.testing.assert_array_equal(traj.action[0, 0], np.float32(row))  # stored unclipped


def test_box_broadcasts_scalar_bounds_and_rejects_crossed_ones():
    b = box(-2.0, 2.0, (3,))
    assert b.low.shape == (3,) and b.low.dtype == np.float32 and b.shape == (3,)
    np.testing.assert_array_equal(b.clip(jnp.array([[-3.0, 0.0, 9.0]])), [[-2.0, 0.0, 2.0]])
    with pytest.raises(ValueError, match="low <= high"):
        box([0.0, 1.0], [1.0, 0.0], (2,))
