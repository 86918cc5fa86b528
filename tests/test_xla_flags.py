"""``purerl.xla_flags``: the XLA:CPU flag ``import purerl`` adds, and what it removes — the
two whole-buffer copies per update of an off-policy program that stores one transition per
update."""

import os

import jax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from purerl import xla_flags
from purerl.algos import td3
from tests.algos.cases import OFFPOLICY_SMALL

FLAG = xla_flags.FLAG
OTHER = st.lists(
    st.sampled_from(["--xla_a=1", "--xla_b", "--xla_force_host_platform_device_count=2"])
)


@given(OTHER)
def test_the_flag_is_added_once_after_the_flags_already_there(others):
    flags = " ".join(others)
    added = xla_flags.with_flag(flags)
    assert added.split() == [*others, f"{FLAG}=true"]
    assert xla_flags.with_flag(added) == added


@given(OTHER, st.sampled_from(["true", "false", "0"]), st.integers(0, 3))
def test_a_value_set_by_the_user_is_kept(others, value, where):
    flags = " ".join([*others[:where], f"{FLAG}={value}", *others[where:]])
    assert xla_flags.with_flag(flags) == flags


@given(OTHER, st.sampled_from(["", "true", "false"]), st.integers(0, 3), st.booleans())
def test_set_flag_names_the_flag_once_with_the_value_given(others, before, where, value):
    entries = [*others[:where], *([f"{FLAG}={before}"] if before else []), *others[where:]]
    assert xla_flags.set_flag(" ".join(entries), value).split() == [
        *others,
        f"{FLAG}={str(value).lower()}",
    ]


def test_the_suite_runs_with_the_flag_as_users_do():
    assert f"{FLAG}=true" in os.environ["XLA_FLAGS"].split()


def test_installing_after_the_backend_started_warns(monkeypatch):
    jax.numpy.zeros(1).block_until_ready()  # the backend has started
    monkeypatch.setenv("XLA_FLAGS", "--xla_b")
    with pytest.warns(UserWarning, match="imported after JAX started its backend"):
        xla_flags.install()
    assert os.environ["XLA_FLAGS"] == f"--xla_b {FLAG}=true"


def test_td3_storing_one_transition_per_update_copies_no_replay_buffer_in_its_loop():
    """Without the flag, XLA computes the minibatch from the old buffer and the new item and
    keeps two copies of every such buffer leaf per update (measured: 3 buffer-shaped copies
    in this program, 1 with the flag: the initial fill)."""
    config = td3.Config(**{**OFFPOLICY_SMALL, "num_envs": 1, "buffer_size": 1000})
    hlo = jax.jit(td3.train).lower(config, jax.random.key(0)).compile().as_text()
    copies = [line for line in hlo.splitlines() if "copy(" in line and "[1000," in line]
    assert len(copies) <= 1, copies
