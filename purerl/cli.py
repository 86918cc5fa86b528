"""The ``purerl`` command.

    purerl train ppo --env CartPole-v1 --seeds 8 --set lr=2.5e-4,1e-3 --set clip_eps=0.1,0.2
    purerl resume runs/20261121-120000-ppo-CartPole-v1
    purerl list [ppo ...]
    purerl plot runs/20261121-120000-ppo-CartPole-v1 [more run dirs] [--out curves.png]

``--set name=v`` sets a config field; ``--set name=v1,v2,…`` on a hyperparameter makes it
a grid axis, and the grid × seeds runs as one program. ``--set env_kwargs='{"k": v}'``
passes keyword arguments to the environment (a JSON object). Mistakes (unknown algorithm,
environment or field, malformed ``--set``, invalid value, unwritable ``--out``) print one
line and exit with status 2. A run whose losses, gradients or parameters go NaN or ±inf
stops the sweep after that chunk, keeps everything computed, names the quantity, run and
update in one line and in ``summary.json``, and exits with status 3. Ctrl-C stops at the
end of the chunk being computed, keeps it and exits with status 130 (a second Ctrl-C
stops at once, keeping every chunk finished before).
Runs are sharded across every CPU core (see ``use_every_core``) or accelerator.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

EXIT_USAGE = 2
EXIT_NONFINITE = 3  # a run went NaN or ±inf; the sweep stopped after that chunk
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="purerl", description="Pure-JAX RL: train, sweep, list, plot.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser("train", help="train an algorithm over seeds × a hyperparameter grid")
    train.add_argument("algo", help="algorithm name (see `purerl list`)")
    train.add_argument("--env", default=None, help="environment id (default: the config's)")
    train.add_argument("--seeds", type=int, default=1, help="runs per grid point (default 1)")
    train.add_argument(
        "--set", action="append", default=[], metavar="NAME=V[,V...]",
        help="set a config field; several values on a hyperparameter form a grid axis",
    )  # fmt: skip
    train.add_argument("--out", default="runs", help="parent directory of run directories")
    train.add_argument("--seed", type=int, default=0, help="root PRNG seed (default 0)")
    train.add_argument("--chunk", type=int, default=None, help="updates per chunk")
    train.add_argument("--checkpoint-every", type=int, default=1, metavar="K",
                       help="write the checkpoint after every K-th chunk (default 1), the "
                       "last one and one stopped by Ctrl-C; metrics after every chunk")  # fmt: skip
    train.add_argument("--devices", type=int, default=None,
                       help="shard runs over the first N devices (default: all; recorded, "
                       "and kept by resume: the device count can change results)")  # fmt: skip
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--keep-going", action="store_true",
                       help="a run that goes NaN or ±inf does not stop the others (by "
                       "default the sweep stops after that chunk); the exit status is "
                       "still 3, and the table counts the failed runs")  # fmt: skip
    multi = train.add_argument_group(
        "several processes (jax.distributed; or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
        "JAX_PROCESS_ID): every process runs the same command, process 0 writes the results"
    )
    multi.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                       help="process 0's address and a free port")  # fmt: skip
    multi.add_argument("--num-processes", type=int, default=None, metavar="N")
    multi.add_argument("--process-id", type=int, default=None, metavar="I", help="0 … N-1")
    listing = sub.add_parser("list", help="algorithms with their config fields (the values "
                             "each takes), and environment ids")  # fmt: skip
    listing.add_argument("algos", nargs="*", metavar="ALGO",
                         help="only these algorithms' fields (default: every algorithm, "
                         "then the environment ids)")  # fmt: skip
    resume = sub.add_parser("resume", help="continue a stopped run dir from its checkpoint")
    resume.add_argument("run_dir", help="a run directory written by `purerl train`")
    resume.add_argument("--no-progress", action="store_true", help="no progress bar")
    plot = sub.add_parser("plot", help="redraw or overlay the learning curves of run dirs")
    plot.add_argument("runs", nargs="+", help="run directories")
    plot.add_argument("--out", default=None, help="PNG path (default: RUN_DIR/curves.png "
                      "for one run, ./curves.png for several)")  # fmt: skip
    return parser


# --- --set parsing ----------------------------------------------------------------------------


def _convert(name: str, text: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if isinstance(default, int):
            return int(text)
        if default is None:  # an optional count, e.g. pg.Config.num_steps
            return None if text.lower() == "none" else int(text)
        if isinstance(default, tuple):
            return tuple(int(v) for v in text.split("x"))
        if isinstance(default, str):
            return text
        return float(text)
    except ValueError:
        kind = {bool: "true or false", int: "an integer", tuple: "sizes like 64x64"}
        kind[type(None)] = "an integer or none"
        want = next((v for t, v in kind.items() if isinstance(default, t)), "a number")
        raise UsageError(f"--set {name}={text}: expected {want}") from None


def _env_kwargs(text: str) -> dict[str, Any]:
    """``--set env_kwargs='{"max_episode_steps": 200}'``: a JSON object."""
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise UsageError(f"--set env_kwargs={text}: expected a JSON object, e.g. "
                         """'{"max_episode_steps": 200}'""")  # fmt: skip
    return value


def parse_set(specs: Sequence[str], config_cls: type) -> tuple[dict, dict]:
    """Split ``--set`` options into single-value overrides and grid axes."""
    from purerl.experiment.registry import config_fields

    fields = {f.name: f for f in config_fields(config_cls)}
    overrides: dict[str, Any] = {}
    grid: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if name == "env_kwargs" and sep:
            overrides[name] = _env_kwargs(values)
            continue
        items = [v.strip() for v in values.split(",")]
        if not sep or not name or not all(items):
            raise UsageError(f"malformed --set {spec!r}: expected NAME=VALUE or NAME=V1,V2,...")
        if name not in fields:
            raise UsageError(f"unknown field {name!r}; fields: {', '.join(fields)}")
        if name in overrides or name in grid:
            raise UsageError(f"--set {name} given twice")
        field = fields[name]
        parsed = [_convert(name, v, field.default) for v in items]
        if len(parsed) == 1:
            overrides[name] = parsed[0]
        elif isinstance(field.default, tuple):
            raise UsageError(f"--set {spec}: sizes are written like {name}={'x'.join(items)} "
                             "(a comma separates the values of a sweep)")  # fmt: skip
        elif field.static:
            raise UsageError(f"--set {name}: a static field takes one value (it fixes the "
                             "program's shapes); sweep hyperparameters instead")  # fmt: skip
        else:
            grid[name] = parsed
    return overrides, grid


# --- commands -----------------------------------------------------------------------------------


def _as_typed(default: Any) -> str:
    """A default as ``--set`` writes it: layer widths ``64x64``, env_kwargs as JSON,
    ``true``, ``none``."""
    if hasattr(default, "tolist"):
        default = default.tolist()
    if default is None or isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, tuple) and all(isinstance(v, tuple) for v in default):
        return json.dumps(dict(default))  # env_kwargs, stored as sorted pairs
    if isinstance(default, tuple):
        return "x".join(map(str, default))
    return str(default)


def cmd_list(args: argparse.Namespace) -> int:
    from purerl import envs
    from purerl.envs import sequence
    from purerl.experiment.registry import ALGORITHMS, config_fields, get_algorithm

    modules = {name: get_algorithm(name) for name in args.algos or ALGORITHMS}
    for name, module in modules.items():
        print(f"{name}  ({module.__name__})")
        for f in config_fields(module.Config):
            kind = "static" if f.static else "hyperparameter (sweepable)"
            print(f"  {f.name:<22} {_as_typed(f.default):<16} {kind:<27} {f.values}".rstrip())
    if args.algos:
        return 0
    for title, ids in (
        ("environments", envs.registered()),
        ("sequence tasks (sft, reward_model, rlhf_ppo, grpo)", sequence.task_ids()),
    ):
        print(f"\n{title} ({len(ids)}):")
        for i in range(0, len(ids), 4):
            print("  " + "  ".join(f"{e:<26}" for e in ids[i : i + 4]).rstrip())
    return 0


class _Plan(NamedTuple):
    """What ``train`` and ``resume`` run: the algorithm, its config and grid, the devices."""

    algo: Any
    config: Any
    grid: dict[str, list[float]]
    points: list[dict[str, float]]
    devices: list


def _check_env_flag(config_cls: type, env_id: str) -> None:
    """``--env`` names an environment, or a sequence task for the language-model algorithms."""
    from purerl import envs
    from purerl.envs import sequence

    field = {f.name: f for f in dataclasses.fields(config_cls)}.get("env_id")
    if field is not None and field.metadata.get("task_id"):
        try:
            sequence.make(env_id)
        except ValueError as e:
            raise UsageError(str(e).replace("env_id:", "--env:", 1)) from None
    else:
        envs.check_env_id(env_id, field="--env")


def _plan(args: argparse.Namespace) -> _Plan:
    """Parse and validate a ``train`` command line, before anything is written."""
    from purerl.experiment.registry import get_algorithm
    from purerl.experiment.sweep import build_grid

    algo = get_algorithm(args.algo)
    overrides, grid = parse_set(args.set, algo.Config)
    if args.env is not None:
        if "env_id" in overrides or "env_id" in grid:
            raise UsageError("give the environment once: --env or --set env_id, not both")
        _check_env_flag(algo.Config, args.env)
        overrides["env_id"] = args.env
    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if args.chunk is not None and args.chunk < 1:
        raise UsageError(f"--chunk must be >= 1 (updates per chunk), got {args.chunk}")
    if args.checkpoint_every < 1:
        raise UsageError(f"--checkpoint-every must be >= 1 (chunks), got {args.checkpoint_every}")
    config = algo.Config(**overrides)
    _, points = build_grid(config, args.seeds, grid)  # validates every grid value up front
    return _Plan(algo, config, grid, points, _devices(args))


def cmd_train(args: argparse.Namespace) -> int:
    import jax

    from purerl.experiment import distributed, results

    plan = _plan(args)
    if not distributed.is_main():  # another process of a multi-process run: compute only
        return _execute(args, plan, None)
    try:
        results.check_writable(Path(args.out))
    except OSError as e:
        raise UsageError(f"cannot write to --out {args.out}: {e.strerror or e}") from None
    run_dir = results.new_run_dir(Path(args.out), args.algo, plan.config.env_id)
    record = {"algo": args.algo, "config": results.config_to_json(plan.config),
              "seeds": args.seeds, "seed": args.seed, "grid": plan.grid, "points": plan.points,
              "argv": args.argv, "devices": len(plan.devices),
              "processes": jax.process_count()}  # fmt: skip
    results.write_json(run_dir / "config.json", record)
    return _execute(args, plan, run_dir)


def _devices(args: argparse.Namespace) -> list:
    """The first ``--devices`` devices (all by default); a count out of range is a usage error."""
    import jax

    devices = jax.devices()
    if args.devices is not None and args.devices < 1:
        raise UsageError(f"--devices must be >= 1, got {args.devices}")
    if args.devices is not None and args.devices > len(devices):
        raise UsageError(f"--devices {args.devices}: only {len(devices)} "
                         f"{devices[0].platform} device(s) here")  # fmt: skip
    return devices[: args.devices]


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue a run directory from its checkpoint, with the command line it recorded."""
    from purerl.experiment import checkpoint, results

    run_dir = Path(args.run_dir)
    record, metrics = results.load_run(run_dir)  # RunDirError (a ValueError): exit 2
    if not isinstance(record.get("argv"), list) or record["argv"][:1] != ["train"]:
        raise UsageError(f"{run_dir}: config.json records no `purerl train` command")
    written = ("config.json", "metrics.npz", "summary.json", checkpoint.FILE)
    results.remove_partial_writes(run_dir, written)  # of a process killed while writing
    train = _parser().parse_args(record["argv"])
    train.no_progress = args.no_progress or train.no_progress
    if train.devices is None and isinstance(record.get("devices"), int):
        train.devices = record["devices"]  # the count the checkpoint was sharded over
    plan = _plan(train)
    runs = len(plan.points) * train.seeds

    def restore(template):
        progress, done = checkpoint.load(run_dir / checkpoint.FILE, template)
        if done > metrics["nonfinite_at"].shape[-1]:
            raise checkpoint.CheckpointError(
                f"{run_dir}: the checkpoint is at update {done} but metrics.npz holds only "
                f"{metrics['nonfinite_at'].shape[-1]}"
            )
        kept = {k: v[..., :done].reshape(runs, done) for k, v in metrics.items()}
        print(f"resuming {run_dir} from update {done} of {plan.config.num_updates}")
        return progress, kept

    return _execute(train, plan, run_dir, restore)


def _execute(args: argparse.Namespace, plan: _Plan, run_dir: Path | None, restore=None) -> int:
    """Run the sweep into ``run_dir``: metrics after every chunk, a checkpoint after every
    ``--checkpoint-every``-th, the last and the one a Ctrl-C stopped after; then the
    summary, table and curves; the exit status says how it ended. ``run_dir=None``: a
    process other than 0 of a multi-process run, which computes its share and writes
    nothing (nor does a multi-process run write checkpoints, see ``distributed.py``)."""
    import jax

    from purerl.experiment import checkpoint, results
    from purerl.experiment.progress import ProgressBar
    from purerl.experiment.sweep import sweep

    config, points, grid, devices = plan.config, plan.points, plan.grid, plan.devices
    checkpoints = jax.process_count() == 1
    stop = _StopOnInterrupt()
    if run_dir is None:
        with stop:
            result = sweep(plan.algo, config, seeds=args.seeds, key=jax.random.key(args.seed),
                           chunk=args.chunk, devices=devices, should_stop=stop.poll,
                           stop_on_nonfinite=not args.keep_going, **grid)  # fmt: skip
        if results.first_nonfinite(result.metrics, points) is not None:
            return EXIT_NONFINITE
        stopped = stop.stopped and result.metrics["nonfinite_at"].shape[-1] < config.num_updates
        return EXIT_INTERRUPTED if stopped else 0
    print(f"{args.algo} on {config.env_id}: {len(points)} grid point(s) × {args.seeds} seed(s) "
          f"= {len(points) * args.seeds} runs in one program over {len(devices)} "
          f"{devices[0].platform} device(s) → {run_dir}")  # fmt: skip
    batch = getattr(config, "steps_per_update", None)
    if batch and config.total_timesteps % batch:
        print(f"note: total_timesteps={config.total_timesteps:,} is not a multiple of "
              f"num_envs × num_steps = {batch}: each run takes {config.num_updates} updates "
              f"= {config.num_updates * batch:,} steps")  # fmt: skip

    progress = ProgressBar(config, len(points) * args.seeds, enabled=not args.no_progress)
    shape = (len(points), args.seeds)
    start = time.perf_counter()
    chunks, latest, saved = 0, None, 0  # chunks so far, the newest, updates checkpointed

    def save(chunk):
        nonlocal saved
        if checkpoints and chunk is not None and chunk.updates_done != saved:
            checkpoint.save(run_dir / checkpoint.FILE, chunk.progress, chunk.updates_done)
            saved = chunk.updates_done

    def on_chunk(chunk):
        nonlocal chunks, latest
        metrics = {k: v.reshape(*shape, *v.shape[1:]) for k, v in chunk.metrics.items()}
        results.write_metrics(run_dir / "metrics.npz", metrics)  # first: it may run ahead
        chunks, latest = chunks + 1, chunk
        if chunks % args.checkpoint_every == 0 or chunk.updates_done == config.num_updates:
            save(chunk)
        progress.update(chunk)

    try:
        with stop:
            result = sweep(plan.algo, config, seeds=args.seeds, key=jax.random.key(args.seed),
                           chunk=args.chunk, on_chunk=on_chunk, on_compiled=progress.start,
                           should_stop=stop.poll, restore=restore, devices=devices,
                           stop_on_nonfinite=not args.keep_going, **grid)  # fmt: skip
        if stop.stopped:
            save(latest)  # the chunk it stopped after, whatever --checkpoint-every says
    except KeyboardInterrupt:  # a second Ctrl-C, or one before the first chunk could end
        progress.close()
        return _interrupted(progress.updates_done, config.num_updates, run_dir, checkpoints)
    except OSError as e:  # e.g. a full disk: what was written stays
        progress.close()
        print(f"purerl: error: cannot write results to {run_dir}: {e.strerror or e}; the "
              f"files written before (updates 0–{progress.updates_done - 1}) are kept",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    progress.close()
    wall = time.perf_counter() - start
    rows = results.summarize(result.metrics, points, wall, result.run_s)
    failure = results.first_nonfinite(result.metrics, points)
    updates_done = result.metrics["nonfinite_at"].shape[-1]
    results.write_json(run_dir / "summary.json",
                       {"rows": rows, "devices": len(devices),
                        "compile_s": round(result.compile_s, 2),
                        "run_s": round(result.run_s, 2), "wall_s": round(wall, 2),
                        "updates_done": updates_done, "nonfinite": failure})  # fmt: skip
    png = results.draw_runs([run_dir], run_dir / "curves.png")
    print(results.format_table(rows, list(grid)))
    print(f"compiled in {result.compile_s:.1f} s, ran in {result.run_s:.1f} s; "
          f"wrote {run_dir}/{{config.json,metrics.npz,summary.json}} and {png.name}")  # fmt: skip
    if failure is not None:
        ended = (f"the others ran on (--keep-going): {updates_done} of {config.num_updates} "
                 f"updates, results in {run_dir}" if args.keep_going else
                 f"stopped after {updates_done} of {config.num_updates} updates, results so "
                 f"far in {run_dir}")  # fmt: skip
        print(
            f"purerl: run failed: {results.describe_nonfinite(failure)}; {ended}", file=sys.stderr
        )
    if updates_done == config.num_updates:  # not a run stopped early: it had its chance
        for row in results.not_learning(rows):
            print(f"purerl: warning: {results.describe_not_learning(row, list(grid))}",
                  file=sys.stderr)  # fmt: skip
    if failure is not None:
        return EXIT_NONFINITE
    if stop.stopped and updates_done < config.num_updates:
        return _interrupted(updates_done, config.num_updates, run_dir, checkpoints)
    return 0


def _interrupted(kept: int, total: int, run_dir: Path, resumable: bool) -> int:
    """``resumable``: the run writes checkpoints (a single process does)."""
    then = (f"continue with `purerl resume {run_dir}`" if resumable else
            "a multi-process run cannot be resumed")  # fmt: skip
    print(f"interrupted: {kept} of {total} updates per run kept in {run_dir}; {then}",
          file=sys.stderr)  # fmt: skip
    return EXIT_INTERRUPTED


class _StopOnInterrupt:
    """Within ``with``: the first Ctrl-C asks the runner to stop at the end of the chunk it
    is computing (which is then kept); a second one interrupts at once, as usual. In a
    multi-process run every process stops after the same chunk, once any was asked to."""

    def __init__(self):
        self._requested, self._previous, self.stopped = False, None, False

    def poll(self) -> bool:
        """The runner's ``should_stop``, asked after every chunk (by every process alike)."""
        from purerl.experiment import distributed

        self.stopped = distributed.any_process(self._requested)
        return self.stopped

    def _handle(self, signum, frame):
        self._requested = True
        print("\nstopping after this chunk (Ctrl-C again to stop now)", file=sys.stderr)
        signal.signal(signal.SIGINT, self._previous)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def cmd_plot(args: argparse.Namespace) -> int:
    from purerl.experiment import results

    paths = [Path(p) for p in args.runs]
    default = paths[0] / "curves.png" if len(paths) == 1 else Path("curves.png")
    out = Path(args.out) if args.out else default
    try:
        png = results.draw_runs(paths, out)
    except OSError as e:
        raise UsageError(f"cannot write {out}: {e.strerror or e}") from None
    print(f"wrote {png}")
    return 0


def _join_other_processes(args: argparse.Namespace) -> None:
    """With multi-process settings (flags or environment), join the other processes before
    anything starts JAX's backend."""
    from purerl.experiment import distributed

    try:
        settings = distributed.settings(args.coordinator, args.num_processes, args.process_id)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if settings is not None:
        distributed.initialize(settings)


def use_every_core() -> None:
    """Expose each CPU core as a JAX host device, so sweeps shard their runs across cores.

    XLA:CPU runs these small-op programs on about one core per device; two host devices
    doubled an 8-seed sweep's throughput on a 2-core machine (``bench/sharding.py``).
    Takes effect only before JAX starts its backend, and never overrides a count the user
    set in ``XLA_FLAGS``. Accelerator devices, when present, are used as before.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        count = os.cpu_count() or 1
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def main(argv: Sequence[str] | None = None) -> int:
    use_every_core()
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = _parser().parse_args(argv)
        args.argv = argv
        if args.command == "train":
            _join_other_processes(args)
        if args.command == "list":
            return cmd_list(args)
        if args.command == "plot":
            return cmd_plot(args)
        if args.command == "resume":
            return cmd_resume(args)
        return cmd_train(args)
    except (UsageError, ValueError) as e:
        print(f"purerl: error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
