"""Fuzzing what a user can type (issue #12): any value for any ``Config`` field, and any
``purerl train`` command line, is either accepted or refused with the documented
``ValueError`` / one-line usage error — never a ``TypeError``, an XLA error or a traceback.

Here construction and command-line planning are fuzzed (compiling each case would cost
seconds). Training is fuzzed where no compile is needed: ``tests/algos/test_contract.py``
draws every hyperparameter (traced values) of every algorithm through its compiled
contract program and checks that the run's metrics are finite or that ``nonfinite_at``
says where they stopped being so."""

import dataclasses

import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from purerl import cli
from purerl.experiment.registry import ALGORITHMS, get_algorithm

NAMES = sorted(ALGORITHMS)

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-3, 300), max_size=3),
    st.lists(st.floats(-2, 2), min_size=1, max_size=3).map(lambda v: jnp.asarray(v)),
    st.integers(0, 10).map(np.int64),
    st.sampled_from([np.float32(0.5), np.bool_(True), {"max_episode_steps": 5}, {"x": 1}]),
    st.sampled_from(["CartPole-v1", "Pendulum-v1", "Breakout-MinAtar", "brax/nope"]),
)


@settings(max_examples=120)
@given(st.sampled_from(NAMES), st.data())
def test_any_value_for_any_field_is_accepted_or_refused_by_name(name, data):
    config_cls = get_algorithm(name).Config
    field = data.draw(st.sampled_from([f.name for f in dataclasses.fields(config_cls)]))
    value = data.draw(values)
    try:
        config_cls(**{field: value})
    except ValueError as e:  # naming the field, or the other field of a rule between two
        assert any(f.name in str(e) for f in dataclasses.fields(config_cls)), str(e)


tokens = st.sampled_from([
    "--seeds", "--set", "--env", "--chunk", "--seed", "--out", "--no-progress", "lr=1e-3",
    "lr=1e-3,2e-3", "lr=", "=", "gamma=2", "num_envs=3", "num_envs=2,4", "hidden_sizes=8x8",
    "hidden_sizes=x", "env_kwargs={}", "env_kwargs=[1]", 'env_kwargs={"a": 1}', "env_id=Foo",
    "anneal_lr=yes", "total_timesteps=1e9", "CartPole-v1", "Pendulum-v1", "-1", "0", "3", "ppo",
    "",
])  # fmt: skip


@settings(max_examples=120)
@given(st.sampled_from(NAMES), st.lists(tokens, max_size=6))
def test_any_train_command_line_is_planned_or_refused_in_one_line(name, argv):
    try:
        args = cli._parser().parse_args(["train", name, *argv])
        args.argv = argv
        cli._plan(args)
    except (cli.UsageError, ValueError) as e:
        assert "\n" not in str(e).strip(), str(e)
