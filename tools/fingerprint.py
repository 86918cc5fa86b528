"""Fingerprints of training runs, to check that a refactor changes no bit.

    python tools/fingerprint.py --save /tmp/before.json    # on the old code
    python tools/fingerprint.py --check /tmp/before.json   # on the new code

Each case trains a small configuration for a few dozen updates on two fixed keys (one
program vmapped over them, and one of them alone) and hashes every metric and the final
network (or table). ``--check`` lists the cases and metrics whose bits
changed. Fingerprints are only comparable on the same machine, jax and XLA version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import equinox as eqx
import jax
import numpy as np

from purerl.algos import dqn, pg, ppo, tabular, trpo

DQN = dict(num_envs=4, total_timesteps=4_000, buffer_size=512, batch_size=32,
           learning_starts=400, target_update_interval=80, hidden_sizes=(32,))  # fmt: skip
ON_POLICY = dict(num_envs=4, num_steps=32, total_timesteps=4_096)

CASES = {
    "ppo-cartpole": (ppo, dict(ON_POLICY, num_epochs=2, num_minibatches=4)),
    "ppo-pendulum-kl-norm": (
        ppo,
        dict(ON_POLICY, env_id="Pendulum-v1", objective="kl_adaptive", normalize_obs=True),
    ),
    "ppo-shared-clip-kl": (ppo, dict(ON_POLICY, shared_trunk=True, objective="clip_kl")),
    "reinforce-baseline": (pg, dict(num_envs=4, num_steps=100, total_timesteps=8_000)),
    "reinforce-total": (
        pg,
        dict(psi="total_return", num_envs=4, num_steps=100, total_timesteps=8_000),
    ),  # fmt: skip
    "a2c-pendulum-shared-norm": (
        pg,
        dict(
            env_id="Pendulum-v1",
            psi="gae",
            num_envs=4,
            num_steps=8,
            total_timesteps=4_096,
            shared_trunk=True,
            normalize_obs=True,
        ),
    ),  # fmt: skip
    "trpo-cartpole": (trpo, dict(ON_POLICY, vf_minibatches=4)),
    "trpo-penalized-pendulum": (
        trpo,
        dict(ON_POLICY, env_id="Pendulum-v1", method="penalized", normalize_obs=True),
    ),
    "dqn": (dqn, DQN),
    "dqn-double-dueling-per-3step-huber": (
        dqn,
        dict(DQN, double=True, dueling=True, prioritized=True, n_step=3, loss="huber"),
    ),
    "dqn-2steps-per-update": (dqn, dict(DQN, num_steps=2, gradient_steps=2, tau=0.5)),
    "tabular-q_learning": (tabular, dict(num_episodes=200)),
    "tabular-sarsa": (tabular, dict(method="sarsa", num_episodes=200)),
    "tabular-expected_sarsa": (tabular, dict(method="expected_sarsa", num_episodes=200)),
    "tabular-td_lambda_acc": (tabular, dict(method="td_lambda_accumulating", num_episodes=200)),
    "tabular-mc-lake": (
        tabular,
        dict(method="mc_first_visit", env_id="purerl/FrozenLake-4x4", num_episodes=200),
    ),
}


def digest(x) -> str:
    a = np.ascontiguousarray(np.asarray(x))
    return hashlib.sha256(a.tobytes() + str(a.dtype).encode() + str(a.shape).encode()).hexdigest()[
        :16
    ]


def fingerprint(module, overrides) -> dict[str, str]:
    config = module.Config(**overrides)
    keys = jax.random.split(jax.random.key(42), 2)
    state, metrics = jax.jit(jax.vmap(module.train, in_axes=(None, 0)))(config, keys)
    _, alone = jax.jit(module.train)(config, keys[0])
    out = {f"metric/{k}": digest(v) for k, v in sorted(metrics.items())}
    out.update({f"alone/{k}": digest(v) for k, v in sorted(alone.items())})
    learned = state.model if hasattr(state, "model") else state.table
    leaves = jax.tree.leaves(eqx.filter(learned, eqx.is_inexact_array))
    out["state/learned"] = digest(np.concatenate([np.ravel(np.asarray(x)) for x in leaves]))
    out["final_return"] = f"{float(np.asarray(metrics['episode_return'])[:, -1].mean()):.4f}"
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save")
    group.add_argument("--check")
    parser.add_argument("--only", nargs="*", default=None, help="case names")
    args = parser.parse_args(argv)
    names = args.only or list(CASES)
    prints = {}
    for name in names:
        module, overrides = CASES[name]
        prints[name] = fingerprint(module, overrides)
        print(f"{name}: final return {prints[name]['final_return']}", flush=True)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(prints, f, indent=1)
        return 0
    with open(args.check) as f:
        reference = json.load(f)
    bad = 0
    for name in names:
        ref, new = reference.get(name, {}), prints[name]
        changed = sorted(k for k in set(ref) | set(new) if ref.get(k) != new.get(k))
        state = "identical" if not changed else f"CHANGED: {', '.join(changed)}"
        bad += bool(changed)
        print(f"{name}: {state}")
    print(f"{len(names) - bad} of {len(names)} cases bitwise identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
