"""The contract every algorithm keeps (DESIGN.md, "Tests"): one compiled program, vmap over
keys equals a loop, batched hyperparameters in one program, determinism, clear errors —
and, through the same compiled program, fuzzed hyperparameters that train to finite
metrics or report where they stopped being finite (DESIGN.md's fuzz tests, issue #12).

Built at the suite's LLVM -O0. A case whose comparisons need it (``AlgoCase.fusion_emitters``)
builds with XLA:CPU's fusion emitters (``tests.xla.BITWISE``), where the comparisons hold with
a 100x margin in the tolerance (measured on the TRPO cases, the most sensitive); the others
keep the suite's elemental emitters, which compile 2-2.5x faster (the language-model cases'
module 150 -> 71 s on one core) but can round the same sums differently in two programs: in
that build PPO's and DDPG's evaluation on vs off differed in the last bits, DQN's and SAC's
both comparisons, penalized TRPO's evaluation (2026-11-23), so those five build with the
fusion emitters. A case that starts failing a comparison after a change of its algorithm
may need the same.

The tests take their cases from their module's ``CONTRACT_CASES`` (``tests/algos/conftest.py``
parametrizes ``case`` and ``invalid`` with them): this module holds the tests and the
environment algorithms' cases; ``test_contract_lm.py`` runs the same tests on the
language-model algorithms."""

import dataclasses

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from purerl.config import Range, sweep_axes
from tests.algos.cases import ENV_CASES
from tests.xla import BITWISE

CONTRACT_CASES = ENV_CASES


def assert_trees_close(a, b, **tol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(
            np.asarray(x), np.asarray(y), **(tol or dict(rtol=1e-4, atol=1e-5))
        )


def contract_jit(case, fun):
    """``jax.jit`` in the build the case's comparisons hold in (see the module docstring)."""
    return jax.jit(fun, compiler_options=BITWISE if case.fusion_emitters else None)


@pytest.fixture(scope="module")
def jitted(case):
    return contract_jit(case, case.module.train)


@pytest.fixture(scope="module")
def reference(case, jitted):
    """Metrics of 4 keys, each trained on its own."""
    config = case.module.Config(**case.small)
    keys = jax.random.split(jax.random.key(0), 4)
    return [jitted(config, k)[1] for k in keys]


def test_train_compiles_once_and_returns_the_shared_metrics(case, jitted, reference):
    config = case.module.Config(**case.small)
    other = case.module.Config(**{**case.small, **{k: v[0] for k, v in case.sweep.items()}})
    compiled = jitted._cache_size()
    jitted(other, jax.random.key(7))
    assert jitted._cache_size() == compiled, "a new key or hyperparameter value recompiled"
    metrics = reference[0]
    num_updates = config.num_updates
    for name in case.metrics:
        assert metrics[name].shape == (num_updates,), name
        assert np.all(np.isfinite(np.asarray(metrics[name]))), name
    np.testing.assert_array_equal(metrics["nonfinite_at"], -1)  # nothing went NaN or inf
    if config.eval_every:
        assert metrics["eval_return"].shape == (num_updates,)
        assert np.all(np.isfinite(np.asarray(metrics["eval_return"])))
    else:
        assert "eval_return" not in metrics
    if "env_steps" not in case.metrics:
        return
    steps = np.asarray(metrics["env_steps"])
    if hasattr(config, "steps_per_update"):  # a fixed number of environment steps per update
        assert int(steps[-1]) == num_updates * config.steps_per_update
    assert steps[0] > 0 and np.all(np.diff(steps) >= 0)


def test_vmap_over_keys_and_batched_hyperparameters_equals_a_loop(case, jitted, reference):
    """One program vmapped over 6 runs: the 4 reference keys at the default hyperparameters,
    then 2 keys at the two sweep points. Each run equals the same run trained on its own."""
    config = case.module.Config(**case.small)
    keys = jax.random.split(jax.random.key(0), 4)
    extra = jax.random.split(jax.random.key(3), 2)
    batched_values = {
        name: np.concatenate([np.repeat(np.float32(getattr(config, name)), 4), values])
        for name, values in case.sweep.items()
    }
    batched = case.module.Config(**case.small, **batched_values)
    train = contract_jit(case, jax.vmap(case.module.train, in_axes=(sweep_axes(batched), 0)))
    _, out = train(batched, jax.numpy.concatenate([keys, extra]))
    assert out[case.metrics[0]].shape[0] == 6
    expected = list(reference)
    for i in range(2):
        point = case.module.Config(**case.small, **{k: v[i] for k, v in case.sweep.items()})
        expected.append(jitted(point, extra[i])[1])
    for i, metrics in enumerate(expected):
        assert_trees_close(jax.tree.map(lambda x, i=i: x[i], out), metrics)


def test_same_key_gives_bitwise_identical_results(case, jitted, reference):
    config = case.module.Config(**case.small)
    again = jitted(config, jax.random.split(jax.random.key(0), 4)[0])[1]
    for name in reference[0]:
        np.testing.assert_array_equal(np.asarray(again[name]), np.asarray(reference[0][name]))


def test_evaluation_leaves_training_bitwise_unchanged(case, reference):
    """Evaluation draws keys from its own stream: with it off, every other metric is equal."""
    if not case.small.get("eval_every"):
        pytest.skip("evaluation is off in this case")
    config = case.module.Config(**{**case.small, "eval_every": 0})
    key = jax.random.split(jax.random.key(0), 4)[0]
    off = contract_jit(case, case.module.train)(config, key)[1]
    assert set(reference[0]) == set(off) | {"eval_return"}
    for name in off:
        np.testing.assert_array_equal(np.asarray(off[name]), np.asarray(reference[0][name]))


def test_different_keys_give_different_runs(reference):
    a, b = reference[:2]
    assert any(not np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def test_invalid_config_raises_value_error_naming_the_field(invalid):
    case, overrides, field = invalid
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        case.module.Config(**{**case.small, **overrides})


def _values(rule: Range):
    """Float32 values a hyperparameter may take, its bounds included (±1e30 standing for
    "unbounded"; +inf where the range allows it)."""
    low = float(np.float32(-1e30 if rule.low is None else rule.low))
    high = float(np.float32(1e30 if rule.high is None else rule.high))
    inside = st.floats(
        low, high, exclude_min=rule.low_open, exclude_max=rule.high_open, width=32,
        allow_infinity=False,
    )  # fmt: skip
    return st.one_of(inside, st.just(np.inf)) if rule.allow_inf else inside


@given(data=st.data())
def test_fuzzed_hyperparameters_train_to_finite_metrics_or_report_where_they_failed(
    case, jitted, data
):
    """Fuzz that trains (issue #12): every hyperparameter drawn from its whole range at once
    (extremes included: lr = 1e30, γ = 1, τ at its open bound), and sometimes one of them
    drawn from any float. The config is refused with a ``ValueError`` naming a field, or
    the compiled contract program (hyperparameters are traced: no new compile) trains it,
    and every float metric is finite at every update before the one ``nonfinite_at``
    reports — a run that blew up says so, and from where."""
    fields = [f for f in dataclasses.fields(case.module.Config) if "range" in f.metadata]
    values = {f.name: data.draw(_values(f.metadata["range"]), label=f.name) for f in fields}
    wild = data.draw(st.sampled_from([None, *values]), label="drawn from any float")
    if wild is not None:
        values[wild] = data.draw(st.floats(width=32), label=wild)
    try:
        config = case.module.Config(**{**case.small, **values})
    except ValueError as e:
        assert any(f.name in str(e) for f in dataclasses.fields(case.module.Config)), str(e)
        return
    metrics = jitted(config, jax.random.key(1))[1]
    first = np.asarray(metrics["nonfinite_at"])
    n = config.num_updates
    stop = n if first[-1] < 0 else int(first[-1])
    np.testing.assert_array_equal(first, np.where(np.arange(n) < stop, -1, stop))
    for name, m in metrics.items():
        m = np.asarray(m)
        if np.issubdtype(m.dtype, np.floating):
            assert np.all(np.isfinite(m[:stop])), (name, m, values)
