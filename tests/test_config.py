"""``purerl.config``: every field refused by name before tracing — wrong types, bad
``env_kwargs``, unsupported observations, int32 overflow, batched leaves given to one run
(issue #12) — and the harmless spellings (NumPy scalars, lists) accepted."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl import loop
from purerl.algos import dqn, ppo, sac, tabular


@pytest.mark.parametrize(
    "module, overrides, message",
    [
        (ppo, dict(anneal_lr="false"), "anneal_lr must be True or False"),
        (dqn, dict(double=1), "double must be True or False"),
        (ppo, dict(hidden_sizes=64), "hidden_sizes must be a non-empty tuple"),
        (sac, dict(hidden_sizes=(64, 0)), "hidden_sizes must be a non-empty tuple"),
        (ppo, dict(lr="abc"), "lr must be a number"),
        (dqn, dict(gamma=None), "gamma must be a number"),
        (ppo, dict(lr=[1e-3, "x"]), "lr must be a number"),
        (ppo, dict(env_kwargs={"foo": 1}), "env_kwargs {'foo': 1} do not build CartPole-v1"),
        (ppo, dict(env_kwargs={"max_episode_steps": 0}), "max_episode_steps must be >= 1"),
        (tabular, dict(env_kwargs={"bar": 2}), "env_kwargs {'bar': 2} do not build"),
        (ppo, dict(env_id="Breakout-MinAtar"), "env_id must have flat observations"),
        (dqn, dict(env_id="Catch-bsuite"), "env_id must have flat observations"),
        (ppo, dict(total_timesteps=10**12), "total_timesteps must be at most 2**31 - 1"),
        (dqn, dict(buffer_size=2**31), "buffer_size must be at most 2**31 - 1"),
        # an annealing window shorter than one update: ε would jump from start to end
        (dqn, dict(exploration_fraction=1e-5), "exploration_fraction spans 5 of the run's"),
        (
            dqn,
            dict(exploration_fraction=[0.5, 1e-5]),  # each swept value
            "exploration_fraction spans 5 of the run's 500000 environment steps",
        ),
        (tabular, dict(num_episodes=4, epsilon_decay=0.2), "epsilon_decay spans 0.8 of"),
    ],
)
def test_a_bad_field_is_refused_at_construction_naming_it(module, overrides, message):
    with pytest.raises(ValueError, match="Config.") as info:
        module.Config(**overrides)
    assert message in str(info.value)


def test_numpy_scalars_and_lists_are_taken_as_python_values():
    config = dqn.Config(num_envs=np.int64(2), hidden_sizes=[32, np.int64(16)], double=np.True_)
    assert type(config.num_envs) is int and config.num_envs == 2
    assert config.hidden_sizes == (32, 16) and all(type(h) is int for h in config.hidden_sizes)
    assert config.double is True
    assert hash(config.hidden_sizes)  # static fields stay hashable: one compiled program


def test_a_batched_hyperparameter_given_to_one_run_is_refused_saying_how_to_sweep():
    config = ppo.Config(gamma=jnp.array([0.9, 0.99]))
    with pytest.raises(ValueError, match=r"ppo.Config.gamma has shape \(2,\).*sweep"):
        jax.jit(ppo.train)(config, jax.random.key(0))
    with pytest.raises(ValueError, match="gamma has shape"):
        loop.start(loop.of_module(ppo), config, jax.random.key(0))


def test_an_annealing_window_of_one_update_or_a_constant_schedule_is_accepted():
    """The rule refuses only a schedule that would jump: a window of one whole update (10
    environment steps of DQN's default 10 environments), a start equal to its end, or a
    prediction method (no ε) pass."""
    assert dqn.Config(exploration_fraction=10 / 500_000).steps_per_update == 10
    dqn.Config(exploration_fraction=1e-6, epsilon_start=0.05, epsilon_end=0.05)
    tabular.Config(method="td0", num_episodes=4, epsilon_decay=0.2)


def test_each_field_says_the_values_it_takes_as_the_command_line_writes_them():
    """What ``purerl list`` shows beside each field: the rule ``validate`` checks, briefly."""
    from purerl.config import Range
    from purerl.experiment.registry import config_fields

    assert Range(0.0, 1.0).short() == "[0, 1]"
    assert Range(0.0, 1.0, low_open=True).short() == "(0, 1]"
    assert Range(0.0, 1.0, high_open=True).short() == "[0, 1)"
    assert Range(0.0, low_open=True, allow_inf=True).short() == "> 0, inf allowed"
    assert Range(high=2.0).short() == "<= 2"
    assert Range().short() == "any number"
    values = {f.name: f.values for f in config_fields(ppo.Config)}
    assert values["gamma"] == "[0, 1]" and values["lr"] == "> 0"
    assert values["objective"].startswith("clip | ")
    assert values["anneal_lr"] == "true | false"
    assert values["num_minibatches"] == "int >= 1, divides num_envs * num_steps"
    assert values["hidden_sizes"] == "widths, e.g. 64x64"
