"""purerl against its peers on one configuration, timed side by side in one invocation.

Each measurement is a fresh worker process that builds the program (timed: tracing and
XLA compile), runs it ``--repeats`` times (timed apart, results blocked on) and reports the
final return. Workers alternate — purerl, PureJaxRL, purerl, PureJaxRL, … — for
``--rounds`` rounds, so that both see the same machine; the speed ratio is the ratio of
the median run times (``peer_run_s / purerl_run_s``: above 1, purerl is faster).

Peers are not vendored. PureJaxRL runs from a local checkout (``git clone
https://github.com/luchris429/purejaxrl``; ``--purejaxrl PATH``) in a Python that has its
requirements (``--peer-python``; jax, flax, optax, distrax, gymnax, flashbax, brax,
navix, wandb — give it the same jax as purerl's for a fair compile). Its scripts
are imported unchanged; the harness adapts only what gymnax ≥ 1.0 and jax ≥ 0.6 broke:
``env.step`` gives ``(obs, state, reward, terminated, truncated, info)`` and the scripts
unpack five values, so the wrapper they apply first (PPO) or last (DQN) is given
``done = terminated | truncated`` and the info dict of gymnax 0.x; ``jax.tree_map`` is
``jax.tree.map``. Stable-Baselines3 (``--sb3``; CPU PyTorch, one seed, one round: it is
slow) runs in ``--sb3-python`` (default: this one; ``pip install -e .[bench]``).

Final return: purerl's and SB3's are the mean of the last 100 completed episodes of each
seed; PureJaxRL PPO's is computed the same way from its per-step episode log; PureJaxRL
DQN logs only the mean over its 10 environments of each one's latest episode, so that
is its figure. Every row also has the environment-only limit (``common.environment_only``,
measured in each purerl worker) and both programs' fraction of it.

And where the rest of the time goes: each program's dense products in GFLOP, counted in its
compiled HLO (``dense_flops``: loops included), and the fraction of the run they would take
if each ran at the rate of the network's widest product alone (``common.product_rate``,
``product_gflops_per_s``, measured in each purerl worker at the minibatch size):
``of_product_rate`` near 1 means the run is the products and little else — no rewrite of
the rest can make it much faster at the same FLOPs. ``bench/results/<OUT>.png`` draws each
program's run time so cut: the environment alone, the products, the rest, with a dashed
line where a run at #13's goal of 1.5x the peer's speed would end (``--replot`` draws it
again from the JSON).

    python bench/peers.py --purejaxrl ~/src/purejaxrl --peer-python ~/peer/bin/python \\
        [--algos ppo dqn] [--seeds 1 8] [--rounds 3] [--repeats 1] [--sb3] [--set FIELD=VALUE]
        [--compile-phases]

``--compile-phases`` compiles both programs under the profiler and adds where XLA:CPU spent
each compile (``bench/compile_phases.py``; medians over the rounds, and the costliest kinds
of fusion): the compile times then include the tracer's overhead, on both sides.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # bench/common.py, in every worker too

# The shared configuration of each benchmark, in purerl's field names (PureJaxRL's own
# defaults for CartPole-v1: ppo.py's __main__ and dqn.py's main()).
SETTINGS: dict[str, dict[str, Any]] = {
    "ppo": dict(
        env_id="CartPole-v1", total_timesteps=500_000, num_envs=4, num_steps=128,
        num_epochs=4, num_minibatches=4, lr=2.5e-4, gamma=0.99, gae_lambda=0.95,
        clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, activation="tanh",
        hidden_sizes=(64, 64), anneal_lr=True,
    ),
    "dqn": dict(
        env_id="CartPole-v1", total_timesteps=500_000, num_envs=10, num_steps=1,
        gradient_steps=1, buffer_size=10_000, batch_size=128, learning_starts=10_000,
        target_update_interval=500, epsilon_start=1.0, epsilon_end=0.05,
        exploration_fraction=0.5, lr=2.5e-4, gamma=0.99, tau=1.0, hidden_sizes=(120, 84),
        activation="relu", loss="mse", anneal_lr=False,
    ),
}  # fmt: skip

SIDES = ("purerl", "purejaxrl", "sb3")
WORKER_TIMEOUT = 900.0  # seconds; the slowest worker, SB3 at 500k steps, takes ~2 minutes
COLUMNS = [
    "algo", "seeds", "compile_s", "peer_compile_s", "run_s", "peer_run_s", "speed_ratio",
    "steps_per_s", "peer_steps_per_s", "of_limit", "peer_of_limit", "dense_gflop",
    "peer_dense_gflop", "product_gflops_per_s", "of_product_rate", "peer_of_product_rate",
    "final_return", "peer_final_return",
]  # fmt: skip


# --- workers: one program each, in a fresh process ---------------------------------------


def _timed(build, keys, repeats: int, phases: bool = False) -> dict[str, Any]:
    """Compile and run timed apart, and the dense products' FLOPs of the compiled program
    (``dense_flops``); with ``phases``, the compile runs under the profiler and its phases
    are kept (``compile_phases``)."""
    # These import jax: not at the top, for an SB3-only Python.
    import jax
    from common import time_calls, time_compile
    from compile_phases import compile_with_phases
    from dense_flops import dense_flops

    extra = {}
    if phases:
        start = time.perf_counter()
        lowered = jax.jit(build).lower(keys)
        lower_s = time.perf_counter() - start
        compiled, extra["compile_phases"] = compile_with_phases(lowered)
        compile_s = lower_s + extra["compile_phases"]["total"]
        extra["compile_phases"]["lower"] = round(lower_s, 3)
    else:
        compile_s, compiled = time_compile(build, keys)
    dense = dense_flops(compiled.as_text())
    runs, out = time_calls(compiled, keys, repeats=repeats)
    return {"compile_s": compile_s, "run_s": runs, "out": out,
            "dense_flops": dense.flops, "dense_flops_exact": dense.exact, **extra}  # fmt: skip


def widest_product(algo: str, s: dict) -> tuple[int, int, int]:
    """``(batch, n_in, n_out)`` of the network's largest product in a gradient step: the
    hidden layer with the most weights (a square one of the hidden width if there is only
    one hidden layer), at the minibatch size."""
    if algo == "dqn":
        batch = s["batch_size"]
    else:
        batch = s["num_envs"] * s["num_steps"] // s["num_minibatches"]
    sizes = list(s["hidden_sizes"])
    pairs = list(zip(sizes, sizes[1:])) or [(sizes[0], sizes[0])]
    n_in, n_out = max(pairs, key=lambda io: io[0] * io[1])
    return batch, n_in, n_out


def last_episodes_mean(done, returns, count: int = 100) -> float:
    """Mean return of the last ``count`` episodes of each seed, averaged over seeds, from a
    per-step log (``done`` and the return of the episode ending there, leading axis the
    seeds, then time in order)."""
    import numpy as np

    done, returns = np.asarray(done), np.asarray(returns)
    per_seed = []
    for d, r in zip(done.reshape(done.shape[0], -1), returns.reshape(returns.shape[0], -1)):
        ended = r[d.astype(bool)]
        per_seed.append(float(ended[-count:].mean()) if ended.size else 0.0)
    return float(np.mean(per_seed))


def settings(
    algo: str, timesteps: int | None = None, overrides: Iterable[tuple[str, Any]] = ()
) -> dict[str, Any]:
    """``SETTINGS[algo]``, with ``total_timesteps`` replaced when ``timesteps`` is given and
    then each ``(field, value)`` of ``overrides`` (fields of ``SETTINGS[algo]`` only: both
    programs must get them)."""
    s = dict(SETTINGS[algo])
    if timesteps:
        s["total_timesteps"] = timesteps
    for field, value in overrides:
        if field not in s:
            raise ValueError(f"--set {field}: not a setting of {algo} ({', '.join(s)})")
        s[field] = value
    return s


def parse_setting(text: str) -> tuple[str, Any]:
    """``FIELD=VALUE`` → ``(field, value)``; the value a Python literal, else a string."""
    field, sep, value = text.partition("=")
    if not sep or not field:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        return field, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return field, value


def worker_purerl(
    algo: str, s: dict, seeds: int, repeats: int, phases: bool = False
) -> dict[str, Any]:
    import jax
    import numpy as np
    from common import environment_only, product_rate

    from purerl.algos import dqn, ppo

    module = {"ppo": ppo, "dqn": dqn}[algo]
    config = module.Config(**s)
    keys = jax.random.split(jax.random.key(0), seeds)
    train = jax.vmap(module.train, in_axes=(None, 0))
    result = _timed(lambda k: train(config, k), keys, repeats, phases)
    _, metrics = result.pop("out")
    result["final_return"] = float(np.mean(metrics["episode_return"][:, -1]))
    result["env_only_steps_per_s"] = environment_only(config, keys, repeats=1)
    result["product_flops_per_s"] = product_rate(*widest_product(algo, s))
    result["steps"] = seeds * config.num_updates * config.steps_per_update
    return result


class _Gymnax0:
    """An environment with gymnax 0.x's ``step``: ``(obs, state, reward, done, info)``,
    ``done = terminated | truncated``, without the info keys gymnax 1.0 added. Every other
    attribute is the wrapped environment's."""

    ADDED = ("terminated", "truncated", "final_observation", "returned_episode_valid")

    def __init__(self, env):
        self._env = env

    def __getattr__(self, name):
        return getattr(self._env, name)

    def step(self, key, state, action, params=None):
        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action, params)
        info = {k: v for k, v in info.items() if k not in self.ADDED}
        return obs, state, reward, terminated | truncated, info


def _load_purejaxrl(path: Path, algo: str):
    import importlib.util

    import jax

    if not hasattr(jax, "tree_map"):  # removed in jax 0.6; dqn.py calls it once
        jax.tree_map = jax.tree.map
    folder = path / "purejaxrl"
    sys.path.insert(0, str(folder))  # ppo.py does `from wrappers import ...`
    spec = importlib.util.spec_from_file_location(f"purejaxrl_{algo}", folder / f"{algo}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if algo == "ppo":  # its own wrappers unpack five values from the gymnax env inside
        flatten = module.FlattenObservationWrapper
        module.FlattenObservationWrapper = lambda env: flatten(_Gymnax0(env))
    else:  # gymnax's purerl wrappers give six; the script unpacks five from the outermost
        log = module.LogWrapper
        module.LogWrapper = lambda env: _Gymnax0(log(env))
    return module


def purejaxrl_config(algo: str, s: dict) -> dict[str, Any]:
    if algo == "ppo":
        return {
            "LR": s["lr"], "NUM_ENVS": s["num_envs"], "NUM_STEPS": s["num_steps"],
            "TOTAL_TIMESTEPS": s["total_timesteps"], "UPDATE_EPOCHS": s["num_epochs"],
            "NUM_MINIBATCHES": s["num_minibatches"], "GAMMA": s["gamma"],
            "GAE_LAMBDA": s["gae_lambda"], "CLIP_EPS": s["clip_eps"],
            "ENT_COEF": s["ent_coef"], "VF_COEF": s["vf_coef"],
            "MAX_GRAD_NORM": s["max_grad_norm"], "ACTIVATION": s["activation"],
            "ENV_NAME": s["env_id"], "ANNEAL_LR": s["anneal_lr"], "DEBUG": False,
        }  # fmt: skip
    if s["gradient_steps"] != 1:  # its DQN takes one gradient step per TRAINING_INTERVAL
        raise ValueError(f"PureJaxRL's DQN has no gradient_steps={s['gradient_steps']}: one "
                         "gradient step per TRAINING_INTERVAL environment steps")  # fmt: skip
    return {
        "NUM_ENVS": s["num_envs"], "BUFFER_SIZE": s["buffer_size"],
        "BUFFER_BATCH_SIZE": s["batch_size"], "TOTAL_TIMESTEPS": s["total_timesteps"],
        "EPSILON_START": s["epsilon_start"], "EPSILON_FINISH": s["epsilon_end"],
        "EPSILON_ANNEAL_TIME": s["exploration_fraction"] * s["total_timesteps"],
        "TARGET_UPDATE_INTERVAL": s["target_update_interval"], "LR": s["lr"],
        "LEARNING_STARTS": s["learning_starts"],
        "TRAINING_INTERVAL": s["num_envs"] * s["num_steps"],
        "LR_LINEAR_DECAY": s["anneal_lr"], "GAMMA": s["gamma"], "TAU": s["tau"],
        "ENV_NAME": s["env_id"],
    }  # fmt: skip


def worker_purejaxrl(
    algo: str, s: dict, seeds: int, repeats: int, path: Path, phases: bool = False
) -> dict:
    import jax
    import numpy as np

    module = _load_purejaxrl(path, algo)
    config = purejaxrl_config(algo, s)
    train = jax.vmap(module.make_train(config))
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    result = _timed(train, keys, repeats, phases)
    metrics = result.pop("out")["metrics"]
    if algo == "ppo":
        info = metrics  # [seeds, updates, steps, envs] per key
        result["final_return"] = last_episodes_mean(
            info["returned_episode"], info["returned_episode_returns"]
        )
    else:
        result["final_return"] = float(np.mean(np.asarray(metrics["returns"])[:, -1]))
    per_update = config["NUM_ENVS"] * config.get("NUM_STEPS", 1)  # make_train set NUM_UPDATES
    result["steps"] = seeds * int(config["NUM_UPDATES"]) * per_update
    return result


def worker_sb3(algo: str, s: dict, seeds: int, repeats: int) -> dict[str, Any]:
    import numpy as np
    import torch
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env

    if seeds != 1:
        raise SystemExit("SB3 runs one seed at a time; pass --seeds 1 for it")
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[s["activation"]]
    env = make_vec_env(s["env_id"], n_envs=s["num_envs"], seed=0)
    start = time.perf_counter()
    if algo == "ppo":
        batch = s["num_envs"] * s["num_steps"]
        lr = (lambda frac: s["lr"] * frac) if s["anneal_lr"] else s["lr"]
        model = PPO(
            "MlpPolicy", env, learning_rate=lr, n_steps=s["num_steps"],
            batch_size=batch // s["num_minibatches"], n_epochs=s["num_epochs"],
            gamma=s["gamma"], gae_lambda=s["gae_lambda"], clip_range=s["clip_eps"],
            clip_range_vf=s["clip_eps"], ent_coef=s["ent_coef"], vf_coef=s["vf_coef"],
            max_grad_norm=s["max_grad_norm"], device="cpu", seed=0,
            policy_kwargs=dict(net_arch=dict(pi=list(s["hidden_sizes"]),
                                             vf=list(s["hidden_sizes"])),
                               activation_fn=activation),
        )  # fmt: skip
    else:  # SB3's DQN loss is the Huber loss (not configurable); no gradient clipping here
        model = DQN(
            "MlpPolicy", env, learning_rate=s["lr"], buffer_size=s["buffer_size"],
            learning_starts=s["learning_starts"], batch_size=s["batch_size"],
            tau=s["tau"], gamma=s["gamma"], train_freq=s["num_steps"],
            gradient_steps=s["gradient_steps"],
            target_update_interval=s["target_update_interval"],
            exploration_fraction=s["exploration_fraction"],
            exploration_initial_eps=s["epsilon_start"],
            exploration_final_eps=s["epsilon_end"], max_grad_norm=1e10, device="cpu",
            seed=0, policy_kwargs=dict(net_arch=list(s["hidden_sizes"]),
                                       activation_fn=activation),
        )  # fmt: skip
    compile_s = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.learn(total_timesteps=s["total_timesteps"], reset_num_timesteps=True)
        runs.append(time.perf_counter() - start)
    returns = [info["r"] for info in model.ep_info_buffer]
    return {
        "compile_s": compile_s,
        "run_s": runs,
        "final_return": float(np.mean(returns)) if returns else 0.0,
        "steps": s["total_timesteps"],
    }


def run_worker(args) -> None:
    s = settings(args.algo, args.timesteps, args.set)
    if args.worker == "purerl":
        result = worker_purerl(args.algo, s, args.seeds[0], args.repeats, args.compile_phases)
    elif args.worker == "purejaxrl":
        result = worker_purejaxrl(
            args.algo, s, args.seeds[0], args.repeats, args.purejaxrl, args.compile_phases
        )
    else:
        result = worker_sb3(args.algo, s, args.seeds[0], args.repeats)
    print(json.dumps(result))


# --- the driver: alternate workers, take medians, report ---------------------------------


def spawn(python: str, side: str, algo: str, seeds: int, args) -> dict[str, Any]:
    cmd = [python, __file__, "--worker", side, "--algo", algo, "--seeds", str(seeds),
           "--repeats", str(args.repeats)]  # fmt: skip
    if args.timesteps:
        cmd += ["--timesteps", str(args.timesteps)]
    for field, value in args.set:
        cmd += ["--set", f"{field}={value!r}"]
    if side == "purejaxrl":
        cmd += ["--purejaxrl", str(args.purejaxrl)]
    if args.compile_phases and side != "sb3":
        cmd += ["--compile-phases"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.worker_timeout)
    except subprocess.TimeoutExpired:
        # Seen once (2026-12-07): a PureJaxRL PPO worker at 8 seeds had used 14 s of CPU
        # after 18 minutes, idle and unfinished, and the harness waited on it with no limit.
        raise SystemExit(
            f"{side} {algo} ({seeds} seeds) did not finish within {args.worker_timeout:.0f} s "
            "(--worker-timeout) and was stopped: a hung worker; run the benchmark again"
        ) from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        hint = ""
        if "ModuleNotFoundError" in proc.stderr:
            hint = (f"\n{python} lacks a package the {side} worker imports; install "
                    f"{'PureJaxRL requirements.txt' if side == 'purejaxrl' else 'purerl[bench]'}"
                    " into it (or pass another interpreter)")  # fmt: skip
        raise SystemExit(f"{side} {algo} ({seeds} seeds) failed:\n{tail}{hint}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(algo: str, seeds: int, peer: str, python: str, rounds: int, args) -> dict:
    ours, theirs = [], []
    for r in range(rounds):
        print(f"  {algo} {seeds} seed(s), round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        ours.append(spawn(sys.executable, "purerl", algo, seeds, args))
        theirs.append(spawn(python, peer, algo, seeds, args))
    med = statistics.median
    run_s = med(t for w in ours for t in w["run_s"])
    peer_run_s = med(t for w in theirs for t in w["run_s"])
    limit = med(w["env_only_steps_per_s"] for w in ours)
    rate = med(w["product_flops_per_s"] for w in ours)
    flops, peer_flops = ours[0].get("dense_flops"), theirs[0].get("dense_flops")  # SB3: none
    steps, peer_steps = ours[0]["steps"], theirs[0]["steps"]
    return {
        "algo": algo, "peer": peer, "seeds": seeds,
        "compile_s": round(med(w["compile_s"] for w in ours), 2),
        "peer_compile_s": round(med(w["compile_s"] for w in theirs), 2),
        "run_s": round(run_s, 2), "peer_run_s": round(peer_run_s, 2),
        "speed_ratio": round(steps / run_s / (peer_steps / peer_run_s), 2),
        "steps_per_s": round(steps / run_s), "peer_steps_per_s": round(peer_steps / peer_run_s),
        "env_only_steps_per_s": round(limit),
        "of_limit": round(steps / run_s / limit, 3),
        "peer_of_limit": round(peer_steps / peer_run_s / limit, 3),
        "dense_gflop": round(flops / 1e9, 1),
        "peer_dense_gflop": round(peer_flops / 1e9, 1) if peer_flops else "-",
        "product_gflops_per_s": round(rate / 1e9, 1),
        "of_product_rate": round(flops / run_s / rate, 2),
        "peer_of_product_rate": round(peer_flops / peer_run_s / rate, 2) if peer_flops else "-",
        # False: a loop of unknown trip count was counted once, the FLOPs are a lower bound.
        "dense_flops_exact": all(w.get("dense_flops_exact", True) for w in ours + theirs),
        "final_return": round(med(w["final_return"] for w in ours), 1),
        "peer_final_return": round(med(w["final_return"] for w in theirs), 1),
        **({"compile_phases": {"purerl": median_phases(ours), peer: median_phases(theirs)}}
           if "compile_phases" in ours[0] else {}),
        "runs": {"purerl": ours, peer: theirs},
    }  # fmt: skip


PHASE_COLUMNS = ["algo", "seeds", "side", "lower", "total", "hlo_passes",
                 "thunk_emission", "fusion_emitter", "fusions", "llvm_codegen", "kernels",
                 "largest_fusions"]  # fmt: skip


def median_phases(workers: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each compile phase over ``workers``, and the fusion kinds of the one
    whose compile took the median time (its three costliest: ``kind count×, ms``)."""
    phases = [w["compile_phases"] for w in workers]
    out = {k: round(statistics.median(p[k] for p in phases), 3)
           for k, v in phases[0].items() if isinstance(v, (int, float))}  # fmt: skip
    middle = sorted(phases, key=lambda p: p["total"])[(len(phases) - 1) // 2]
    kinds = list(middle["by_fusion_kind"].items())[:3]
    out["largest_fusions"] = "; ".join(f"{k} {v['count']}x {v['ms']:.0f}ms" for k, v in kinds)
    out["missing"] = sorted({m for p in phases for m in p["missing"]})
    return out


def phase_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per program of each measured row that has ``compile_phases``."""
    return [{"algo": r["algo"], "seeds": r["seeds"], "side": side, **phases}
            for r in rows for side, phases in r.get("compile_phases", {}).items()]  # fmt: skip


# The columns ``time_split`` reads from a row (results files written before 2026-12-07
# lack the product columns).
SPLIT_COLUMNS = ("dense_gflop", "product_gflops_per_s", "env_only_steps_per_s")

# #13's goal, drawn in the figure: purerl at this many times the peer's speed, a run of the
# peer's median run time divided by it.
GOAL_SPEED_RATIO = 1.5


def time_split(row: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each program's median run time of a row cut into the environment alone (its steps at
    the environment-only limit), its dense products at the widest product's rate, and the
    rest (seconds; 0 where the two parts alone add up to more than the run, as they may
    where XLA overlaps them on several cores). A peer without counted products (SB3) is
    left out."""
    split = {}
    for side, prefix in (("purerl", ""), (row["peer"], "peer_")):
        gflop = row[f"{prefix}dense_gflop"]
        if gflop == "-":
            continue
        run_s = row[f"{prefix}run_s"]
        steps = row[f"{prefix}steps_per_s"] * run_s
        env_s = steps / row["env_only_steps_per_s"]
        products_s = gflop / row["product_gflops_per_s"]
        split[side] = {"environment": env_s, "products": products_s,
                       "rest": max(0.0, run_s - env_s - products_s)}  # fmt: skip
    return split


def plot_time_split(rows: list[dict[str, Any]], path: Path) -> None:
    """One panel per row: each program's run time as stacked bars (``time_split``), and a
    dashed line where a run at ``GOAL_SPEED_RATIO`` × the peer's speed would end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 1.6 * len(rows) + 0.6), squeeze=False)
    colors = {"environment": "C2", "products": "C0", "rest": "C7"}
    for ax, row in zip(axes[:, 0], rows):
        split = time_split(row)
        for y, parts in enumerate(split.values()):
            left = 0.0
            for part, seconds in parts.items():
                ax.barh(y, seconds, left=left, color=colors[part], label=part if y == 0 else None)
                left += seconds
            ax.text(left, y, f" {left:.2f} s", va="center", fontsize=8)
        if row["peer"] in split:
            ax.axvline(row["peer_run_s"] / GOAL_SPEED_RATIO, color="k", ls="--", lw=1,
                       label=f"{GOAL_SPEED_RATIO:g}x the peer's speed")  # fmt: skip
        ax.set_yticks(range(len(split)), list(split))
        ax.set_title(f"{row['algo']}, {row['seeds']} seed(s)", fontsize=9, loc="left")
        ax.set_xlim(0, 1.18 * max(sum(p.values()) for p in split.values()))
        ax.invert_yaxis()  # purerl on top
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper right", fontsize=8, ncols=4)
    axes[-1, 0].set_xlabel("run time (s): environment alone, products at the widest "
                           "product's rate, the rest")  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purejaxrl", type=Path, help="a local checkout of PureJaxRL")
    parser.add_argument("--peer-python", default=sys.executable,
                        help="the Python that runs PureJaxRL (default: this one)")  # fmt: skip
    parser.add_argument("--sb3", action="store_true", help="also Stable-Baselines3, 1 seed")
    parser.add_argument("--sb3-python", default=sys.executable)
    parser.add_argument("--algos", nargs="+", choices=sorted(SETTINGS), default=["ppo", "dqn"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8],
                        help="seed counts (vmapped); DQN runs only the first")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1, help="timed calls per worker")
    parser.add_argument("--timesteps", type=int, help="override total_timesteps (smoke runs)")
    parser.add_argument("--worker-timeout", type=float, default=WORKER_TIMEOUT,
                        help="seconds a worker may take before it is stopped as hung")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], type=parse_setting,
                        metavar="FIELD=VALUE", help="override a setting, for both programs "
                        "(e.g. --set num_epochs=1); repeatable")  # fmt: skip
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--algo", choices=sorted(SETTINGS), help=argparse.SUPPRESS)
    parser.add_argument("--compile-phases", action="store_true",
                        help="compile under the profiler and report XLA's compile phases "
                        "for both programs (bench/compile_phases.py)")  # fmt: skip
    parser.add_argument("--out", default="peers", help="bench/results/<OUT>.json")
    parser.add_argument("--replot", action="store_true",
                        help="only draw bench/results/<OUT>.png from <OUT>.json")  # fmt: skip
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)
    if args.replot:
        from common import RESULTS

        measured = RESULTS / f"{args.out}.json"
        if not measured.is_file():
            parser.error(f"--replot: no {measured}; run the benchmark first")
        try:
            rows = json.loads(measured.read_text())["rows"]
        except (ValueError, KeyError, TypeError):
            parser.error(f"--replot: {measured} is not a results file of this benchmark")
        if any(c not in row for row in rows for c in SPLIT_COLUMNS):
            needs = ", ".join(SPLIT_COLUMNS)
            parser.error(f"--replot: {measured} was measured without the columns the figure "
                         f"needs ({needs}); run the benchmark again")  # fmt: skip
        return plot_time_split(rows, measured.with_suffix(".png"))
    if args.purejaxrl is None and not args.sb3:
        parser.error("no peer: pass --purejaxrl PATH (a checkout of "
                     "https://github.com/luchris429/purejaxrl) and/or --sb3")  # fmt: skip
    if args.purejaxrl is not None and not (args.purejaxrl / "purejaxrl" / "ppo.py").is_file():
        parser.error(f"--purejaxrl {args.purejaxrl}: no purejaxrl/ppo.py there")
    if min(args.seeds) < 1 or args.rounds < 1 or args.repeats < 1:
        parser.error("--seeds, --rounds and --repeats must be at least 1")
    try:
        used = {a: settings(a, args.timesteps, args.set) for a in args.algos}
    except ValueError as e:
        parser.error(str(e))

    from common import RESULTS, print_table, report

    rows = []
    for algo in args.algos:
        for seeds in args.seeds if algo == "ppo" else args.seeds[:1]:
            if args.purejaxrl is not None:
                rows.append(measure(algo, seeds, "purejaxrl", args.peer_python, args.rounds, args))
        if args.sb3:
            rows.append(measure(algo, 1, "sb3", args.sb3_python, 1, args))
    table = [{k: v for k, v in r.items() if k != "runs"} for r in rows]
    report(args.out, table, ["peer", *COLUMNS],
           {"settings": used, "rounds": args.rounds, "repeats": args.repeats,
            "runs": [r["runs"] for r in rows]})  # fmt: skip
    if args.compile_phases:
        print("\ncompile phases (s; medians over rounds):")
        print_table(phase_rows(table), PHASE_COLUMNS)
    plot_time_split(table, RESULTS / f"{args.out}.png")


if __name__ == "__main__":
    main()
