"""Where PPO's run time goes, purerl against PureJaxRL: the rollout and the minibatch steps
timed apart, side by side.

Each program runs in a fresh worker of ``bench/peers.py`` (compile timed apart, results
blocked on) at the benchmark's ``num_epochs`` E and again at one epoch; each round runs the
four programs one after the other (purerl E, peer E, purerl 1, peer 1), and the figures are
medians over the rounds. With M minibatches and U updates the two runs differ by exactly
(E − 1)·M·U minibatch steps, so

    one minibatch step    = (t_E − t_1) / ((E − 1) · M · U)
    the rest of an update = t_1 / U − M · one minibatch step

where the rest is the rollout (``num_envs`` × ``num_steps`` environment steps with the
policy), GAE, the epochs' permutations and the per-update bookkeeping. ``ratio`` is the
peer's time over purerl's for each part (above 1: purerl is faster there). Writes
``bench/results/<OUT>.json``.

    python bench/peer_phases.py --purejaxrl ~/src/purejaxrl --peer-python ~/peer/bin/python \\
        [--seeds 1] [--rounds 3] [--timesteps N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # bench/peers.py and bench/common.py

import peers  # noqa: E402

COLUMNS = ["program", "run_s", "run_one_epoch_s", "minibatch_step_us", "rest_per_update_ms"]


def split(run_s: float, one_epoch_s: float, s: dict) -> dict[str, float]:
    """The per-step figures of one program from its two median run times (module note)."""
    updates = s["total_timesteps"] // (s["num_envs"] * s["num_steps"])
    steps = (s["num_epochs"] - 1) * s["num_minibatches"] * updates
    minibatch_s = (run_s - one_epoch_s) / steps
    rest_s = one_epoch_s / updates - s["num_minibatches"] * minibatch_s
    return {"minibatch_step_us": minibatch_s * 1e6, "rest_per_update_ms": rest_s * 1e3}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purejaxrl", type=Path, required=True,
                        help="a local checkout of PureJaxRL")  # fmt: skip
    parser.add_argument("--peer-python", default=sys.executable)
    parser.add_argument("--seeds", type=int, default=1, help="vmapped seeds per program")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timesteps", type=int, help="override total_timesteps")
    parser.add_argument("--worker-timeout", type=float, default=peers.WORKER_TIMEOUT,
                        help="seconds a worker may take before it is stopped as hung")  # fmt: skip
    parser.add_argument("--out", default="peer_phases", help="bench/results/<OUT>.json")
    args = parser.parse_args(argv)
    if not (args.purejaxrl / "purejaxrl" / "ppo.py").is_file():
        parser.error(f"--purejaxrl {args.purejaxrl}: no purejaxrl/ppo.py there")
    if args.seeds < 1 or args.rounds < 1:
        parser.error("--seeds and --rounds must be at least 1")
    s = peers.settings("ppo", args.timesteps)
    if s["num_epochs"] < 2:
        parser.error("the benchmark's num_epochs must be at least 2 to split the phases")

    sides = (("purerl", sys.executable), ("purejaxrl", args.peer_python))
    epochs = (s["num_epochs"], 1)
    runs: dict[tuple[str, int], list[float]] = {(side, e): [] for side, _ in sides for e in epochs}
    for r in range(args.rounds):
        print(f"  round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for e in epochs:
            worker_args = argparse.Namespace(
                repeats=1, timesteps=args.timesteps, purejaxrl=args.purejaxrl,
                set=[("num_epochs", e)], worker_timeout=args.worker_timeout,
            )  # fmt: skip
            for side, python in sides:
                result = peers.spawn(python, side, "ppo", args.seeds, worker_args)
                runs[side, e].extend(result["run_s"])

    med = statistics.median
    rows = []
    for side, _ in sides:
        run_s, one_s = med(runs[side, epochs[0]]), med(runs[side, 1])
        rows.append({"program": side, "run_s": run_s, "run_one_epoch_s": one_s,
                     **split(run_s, one_s, s)})  # fmt: skip
    ours, theirs = rows
    rows.append({"program": "ratio (peer / purerl)", **{
        c: round(theirs[c] / ours[c], 2) for c in COLUMNS[1:]}})  # fmt: skip
    for row in rows[:2]:
        row.update({c: round(row[c], 3) for c in COLUMNS[1:]})

    from common import report

    report(args.out, rows, COLUMNS,
           {"settings": s, "seeds": args.seeds, "rounds": args.rounds,
            "runs": {f"{side} {e} epoch(s)": t for (side, e), t in runs.items()}})  # fmt: skip


if __name__ == "__main__":
    main()
