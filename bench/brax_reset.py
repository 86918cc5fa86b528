"""Cost of the brax adapter's automatic reset: ``vmap(step)`` (a reset computed in every
environment at every step, kept where an episode ended) against ``step_batch`` (resets
computed only at steps where some episode in the batch ended).

Both collect the same transitions bit for bit (checked here). Timed side by side in one
process, alternating, compile apart, median of repeats; a zero-action policy on
``inverted_pendulum`` (episodes end when the pole falls) and on ``hopper``.

    python bench/brax_reset.py [--envs 264] [--steps 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from purerl import envs, rollout


def collector(env, num_envs, num_steps, lazy):
    def act(obs, key):
        return jnp.zeros(env.action_space.shape), {}

    if not lazy:  # the same adapter without its batched step: vmap(step)
        env = _Unbatched(env)

    def run(key):
        carry = rollout.reset(env, key, num_envs)
        traj, carry = rollout.collect(env, act, carry, jax.random.fold_in(key, 1), num_steps)
        return traj.final_obs, traj.done, carry.obs

    return jax.jit(run)


class _Unbatched:
    def __init__(self, env):
        self._env = env

    def __getattr__(self, name):
        if name == "step_batch":
            raise AttributeError(name)
        return getattr(self._env, name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--envs", type=int, default=264)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for env_id in ("brax/inverted_pendulum", "brax/hopper"):
        env = envs.make(env_id)
        fns = {lazy: collector(env, args.envs, args.steps, lazy) for lazy in (False, True)}
        key = jax.random.key(0)
        outs = {lazy: jax.block_until_ready(f(key)) for lazy, f in fns.items()}  # compile
        same = all(np.array_equal(a, b) for a, b in zip(outs[False], outs[True]))
        ended = float(np.mean(np.any(np.asarray(outs[True][1]), axis=1)))
        times = {False: [], True: []}
        for r in range(args.repeats):
            for lazy in (False, True) if r % 2 == 0 else (True, False):
                t = time.perf_counter()
                jax.block_until_ready(fns[lazy](jax.random.key(r + 1)))
                times[lazy].append(time.perf_counter() - t)
        med = {k: float(np.median(v)) for k, v in times.items()}
        sps = {k: args.envs * args.steps / v for k, v in med.items()}
        ratio = sps[True] / sps[False]
        print(f"{env_id}: {args.envs} envs × {args.steps} steps, steps with an episode end "
              f"{ended:.0%}; identical {same}; vmap(step) {sps[False]:,.0f} steps/s, "
              f"step_batch {sps[True]:,.0f} steps/s, ratio {ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
