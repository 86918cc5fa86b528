"""Why time limits are not terminal states: SAC on Pendulum-v1, bootstrapping from the final
observation at truncation (purerl) against treating the 200-step limit as a termination
(what PureJaxRL and rejax do). Pendulum never terminates: every episode ends by truncation.

Both variants train 4 seeds in one program each, from the same keys. Then each seed's
stochastic policy runs 16 episodes for 200 + 1000 steps (the time limit lifted), and the
learned value min_e Q_e(s_t, a_t) is compared at t < 200 with the true soft action value

    Q^π(s_t, a_t) = r_t + Σ_{k≥1} γ^k (r_{t+k} − α log π(a_{t+k}|s_{t+k}))

computed backwards from step 1200 (γ^1000 ≈ 4e-5: the cut-off is negligible). Printed:
final deterministic ``eval_return`` and the mean error Q − Q^π over steps 0–189 and over
the last 10 steps before the limit. Writes ``bench/results/truncation.json`` and
``truncation.png`` (learning curves; Q and Q^π along the episode).

    python bench/truncation.py [--steps 30000]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine  # noqa: E402
from purerl import envs, rollout  # noqa: E402
from purerl.algos import sac  # noqa: E402
from purerl.kernels import distributions  # noqa: E402
from purerl.nets import ensemble_values  # noqa: E402

SEEDS, EPISODES, LIMIT, EXTRA = 4, 16, 200, 1000


def q_study(config: sac.Config, state: sac.State, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(learned min-Q ``[LIMIT, EPISODES]``, true soft Q ``[LIMIT, EPISODES]``) of one seed."""
    env = envs.make(config.env_id, max_episode_steps=LIMIT + EXTRA)
    low, high = env.action_space.low, env.action_space.high
    actor, critic = state.nets.actor.model, state.nets.critic.model
    alpha = jnp.exp(state.nets.log_alpha.model)

    def act(obs, k):
        action, logp = distributions.squashed_gaussian_sample(k, actor(obs), low, high)
        return action, {"logp": logp, "q": jnp.min(ensemble_values(critic, obs, action))}

    k_reset, k_run = jax.random.split(key)
    carry = rollout.reset(env, k_reset, EPISODES)
    traj, _ = rollout.collect(env, act, carry, k_run, LIMIT + EXTRA)

    def backwards(q_next, step):  # Q_t = r_t + γ (Q_{t+1} − α log π_{t+1})
        r, logp_next = step
        q = r + config.gamma * (q_next - alpha * logp_next)
        return q, q

    steps = (traj.reward[:-1], traj.extras["logp"][1:])
    _, q_true = jax.lax.scan(backwards, jnp.zeros(EPISODES), steps, reverse=True)
    return traj.extras["q"][:LIMIT], q_true[:LIMIT]


def run(config: sac.Config) -> dict:
    keys = jax.random.split(jax.random.key(0), SEEDS)
    state, metrics = jax.jit(jax.vmap(sac.train, in_axes=(None, 0)))(config, keys)
    study_keys = jax.random.split(jax.random.key(1), SEEDS)
    q, q_true = jax.jit(jax.vmap(lambda s, k: q_study(config, s, k)))(state, study_keys)
    error = np.asarray(q - q_true)  # [seed, t, episode]
    return {
        "final_eval_per_seed": [round(float(x), 1) for x in metrics["eval_return"][:, -1]],
        "final_eval": float(np.mean(metrics["eval_return"][:, -1])),
        "q_error_steps_0_189": float(error[:, : LIMIT - 10].mean()),
        "q_error_last_10_steps": float(error[:, LIMIT - 10 :].mean()),
        "curve": np.asarray(metrics["episode_return"]).mean(0)[::100].tolist(),
        "q_along_episode": np.asarray(q).mean((0, 2)).tolist(),
        "q_true_along_episode": np.asarray(q_true).mean((0, 2)).tolist(),
    }


def figure(results: dict, steps: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, r), color in zip(results.items(), ("C0", "C3")):
        x = np.linspace(0, steps, len(r["curve"]))
        left.plot(x, r["curve"], color=color, label=f"{name}: final eval {r['final_eval']:.0f}")
        t = np.arange(LIMIT)
        right.plot(t, r["q_along_episode"], color=color, label=f"{name}: learned min Q")
        right.plot(t, r["q_true_along_episode"], color=color, ls="--", label=f"{name}: true Q^π")
    left.set(xlabel="environment steps", ylabel="training return (last 100 episodes)")
    right.set(xlabel="step of the episode (limit 200)", ylabel="Q(s_t, a_t), mean of 4 × 16")
    left.legend(), right.legend(fontsize=8)
    fig.suptitle("SAC on Pendulum-v1: truncation bootstrapped vs treated as termination")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30_000)
    args = parser.parse_args()
    base = dict(
        total_timesteps=args.steps, learning_starts=1_000, hidden_sizes=(64, 64),
        batch_size=64, eval_every=args.steps, eval_episodes=10,
    )  # fmt: skip
    results = {}
    for name, bootstrap in (("bootstrap (purerl)", True), ("time limit as terminal", False)):
        results[name] = run(sac.Config(**base, bootstrap_truncated=bootstrap))
        r = results[name]
        print(
            f"{name:24s} final eval {r['final_eval']:7.1f} {r['final_eval_per_seed']}  "
            f"Q − Q^π: steps 0-189 {r['q_error_steps_0_189']:+7.2f}, "
            f"last 10 {r['q_error_last_10_steps']:+7.2f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    figure(results, args.steps, RESULTS / "truncation.png")
    payload = {"benchmark": "truncation", "machine": machine(), "config": base, "results": results}
    (RESULTS / "truncation.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS / 'truncation.json'} and truncation.png")


if __name__ == "__main__":
    main()
