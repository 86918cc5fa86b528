"""Finite MDPs as arrays, and an adapter that makes one an environment of the common interface.

An ``MDP`` holds

- ``P[s, a, s']``: transition probabilities (each ``P[s, a]`` sums to 1),
- ``R[s, a, s']``: the reward of that transition,
- ``init[s]``: the initial-state distribution,
- ``terminal[s]``: True for terminal states. Entering one ends the episode; its value is 0,
  so planning never looks past it (its own rows of ``P`` and ``R`` are never used).

The same arrays serve the planning algorithms (``purerl.algos.dp``) and, through
``TabularEnv``, every learning algorithm. Builders: ``gridworld`` (the classic 4×3 grid),
``frozen_lake`` (Gym's 4×4 and 8×8 maps), ``noisy_chain`` (true values all 0, noisy
rewards) and ``random_mdp`` (for tests). Registered ids: ``"purerl/GridWorld-4x3"``,
``"purerl/FrozenLake-4x4"``, ``"purerl/FrozenLake-8x8"``, ``"purerl/NoisyChain"``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purerl.envs.interface import Discrete, box


class MDP(NamedTuple):
    P: jax.Array  # [S, A, S] transition probabilities
    R: jax.Array  # [S, A, S] rewards
    init: jax.Array  # [S] initial-state distribution
    terminal: jax.Array  # [S] bool

    @property
    def num_states(self) -> int:
        return self.P.shape[0]

    @property
    def num_actions(self) -> int:
        return self.P.shape[1]


def _mdp(P, R, init, terminal) -> MDP:
    # NumPy, not jax arrays: a builder may first run inside a trace (``envs.make`` caches
    # the adapter), and constants must not be tracers.
    P, R, init = (np.asarray(x, np.float32) for x in (P, R, init))
    return MDP(P, R, init, np.asarray(terminal, bool))


# --- the 4×3 grid world ------------------------------------------------------------------

GRID_ACTIONS = ("north", "east", "south", "west")
_MOVES = ((0, 1), (1, 0), (0, -1), (-1, 0))  # (dx, dy) for north, east, south, west
GRID_WALLS = ((2, 2),)
GRID_EXITS = {(4, 3): 1.0, (4, 2): -1.0}
GRID_START = (1, 1)
# Cells (x, y) in state order, x = 1..4 left to right, y = 1..3 bottom to top; the state
# after them, ``len(GRID_CELLS)``, is the terminal state an exit leads to.
GRID_CELLS = tuple((x, y) for y in range(1, 4) for x in range(1, 5) if (x, y) not in GRID_WALLS)


def gridworld(noise: float = 0.2, living_reward: float = 0.0) -> MDP:
    """The 4×3 grid world of Russell & Norvig (AIMA, ch. 17), as in the Berkeley CS188 code.

    A wall at (2,2); in an exit cell, (4,3) worth +1 and (4,2) worth −1, every action exits:
    it collects the exit reward and moves to the terminal state. Elsewhere a move succeeds
    with probability 1 − ``noise`` and slips to each perpendicular direction with
    ``noise``/2; bumping into the wall or the border leaves the agent in place. Every
    non-exit move earns ``living_reward``. The agent starts at (1,1).
    """
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"gridworld noise must be in [0, 1], got {noise}")
    index = {cell: i for i, cell in enumerate(GRID_CELLS)}
    S, A = len(GRID_CELLS) + 1, 4
    done = S - 1
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    for cell, s in index.items():
        for a in range(A):
            if cell in GRID_EXITS:
                P[s, a, done] = 1.0
                R[s, a, done] = GRID_EXITS[cell]
                continue
            for direction, p in (
                (a, 1.0 - noise),
                ((a + 1) % 4, noise / 2),
                ((a + 3) % 4, noise / 2),
            ):
                dx, dy = _MOVES[direction]
                target = (cell[0] + dx, cell[1] + dy)
                s_next = index.get(target, s)  # walls and the border are not in the index
                P[s, a, s_next] += p
                R[s, a, s_next] = living_reward
    P[done, :, done] = 1.0
    init = np.zeros(S)
    init[index[GRID_START]] = 1.0
    terminal = np.zeros(S, bool)
    terminal[done] = True
    return _mdp(P, R, init, terminal)


def grid_values(values: Any) -> np.ndarray:
    """Per-state values of ``gridworld`` as a 3×4 array laid out as drawn (top row y = 3);
    NaN at the wall."""
    values = np.asarray(values)
    grid = np.full((3, 4), np.nan)
    for s, (x, y) in enumerate(GRID_CELLS):
        grid[3 - y, x - 1] = values[s]
    return grid


def grid_arrows(policy: Any) -> np.ndarray:
    """Greedy actions of ``gridworld`` as a 3×4 array of (dx, dy) moves laid out as drawn;
    (0, 0) at the wall and at the exits, where the action does not matter."""
    policy = np.asarray(policy)
    arrows = np.zeros((3, 4, 2))
    for s, (x, y) in enumerate(GRID_CELLS):
        if (x, y) not in GRID_EXITS:
            arrows[3 - y, x - 1] = _MOVES[int(policy[s])]
    return arrows


# --- FrozenLake --------------------------------------------------------------------------

FROZEN_LAKE_MAPS = {
    4: ("SFFF", "FHFH", "FFFH", "HFFG"),
    8: (
        "SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF",
        "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG",
    ),
}  # fmt: skip
LAKE_ACTIONS = ("left", "down", "right", "up")  # Gym's order
_LAKE_MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))  # (drow, dcol)


def frozen_lake(size: int = 4, slippery: bool = True) -> MDP:
    """Gym's FrozenLake: reach G (+1) from S without falling into a hole H; both end the episode.

    States are cells in row-major order. Slippery: the agent moves in the intended
    direction or either perpendicular one, each with probability 1/3; moves off the map
    leave it in place.
    """
    if size not in FROZEN_LAKE_MAPS:
        raise ValueError(f"frozen_lake size must be one of {sorted(FROZEN_LAKE_MAPS)}, got {size}")
    rows = FROZEN_LAKE_MAPS[size]
    S, A = size * size, 4
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    for r in range(size):
        for c in range(size):
            s = r * size + c
            for a in range(A):
                directions = ((a - 1) % 4, a, (a + 1) % 4) if slippery else (a,)
                for d in directions:
                    dr, dc = _LAKE_MOVES[d]
                    nr, nc = min(max(r + dr, 0), size - 1), min(max(c + dc, 0), size - 1)
                    s_next = nr * size + nc
                    P[s, a, s_next] += 1.0 / len(directions)
                    R[s, a, s_next] = float(rows[nr][nc] == "G")
    cells = "".join(rows)
    init = np.array([ch == "S" for ch in cells], float)
    terminal = np.array([ch in "HG" for ch in cells])
    return _mdp(P, R, init, terminal)


# --- a chain with noisy rewards (overestimation experiments) -----------------------------


def noisy_chain(length: int = 5, num_actions: int = 8) -> MDP:
    """``length`` states in a row; every action moves one step right, and leaving the last
    state ends the episode. Every reward has mean 0, so every true value is exactly 0 —
    with ``TabularEnv(reward_noise=σ)`` the rewards are N(0, σ²), the setting in which the
    max in Q-learning's target overestimates (van Hasselt, 2010)."""
    if length < 1 or num_actions < 1:
        raise ValueError(f"noisy_chain needs length, num_actions >= 1, got {length}, {num_actions}")
    S = length + 1
    P = np.zeros((S, num_actions, S))
    for s in range(length):
        P[s, :, s + 1] = 1.0
    P[length, :, length] = 1.0
    init = np.eye(S)[0]
    terminal = np.arange(S) == length
    return _mdp(P, np.zeros_like(P), init, terminal)


# --- random MDPs -------------------------------------------------------------------------


def random_mdp(
    key: jax.Array,
    num_states: int,
    num_actions: int,
    terminal_fraction: float = 0.0,
    nonnegative: bool = False,
) -> MDP:
    """A random finite MDP: Dirichlet(1) transitions, standard normal rewards (or uniform
    [0, 1] when ``nonnegative``), a random set of about ``terminal_fraction`` · S terminal
    states (state 0 is never terminal) and a uniform initial state among the others."""
    k_p, k_r, k_t = jax.random.split(key, 3)
    P = jax.random.dirichlet(k_p, jnp.ones(num_states), (num_states, num_actions))
    shape = (num_states, num_actions, num_states)
    R = jax.random.uniform(k_r, shape) if nonnegative else jax.random.normal(k_r, shape)
    terminal = jax.random.uniform(k_t, (num_states,)) < terminal_fraction
    terminal = terminal.at[0].set(False)
    init = jnp.where(terminal, 0.0, 1.0)
    return MDP(P, R, init / jnp.sum(init), terminal)


# --- the environment adapter -------------------------------------------------------------


class TabularState(NamedTuple):
    s: jax.Array  # int32 state index
    t: jax.Array  # int32 steps taken in this episode


BUILDERS = {
    "purerl/GridWorld-4x3": (gridworld, 100),
    "purerl/FrozenLake-4x4": (lambda **kw: frozen_lake(4, **kw), 100),
    "purerl/FrozenLake-8x8": (lambda **kw: frozen_lake(8, **kw), 200),
    "purerl/NoisyChain": (noisy_chain, 1000),
}


class TabularEnv:
    """An ``MDP`` as an environment: ``reset``/``step`` with automatic reset and a time limit.

    ``observation="onehot"`` (default) gives float one-hot vectors, so any algorithm can
    run on it; ``"index"`` gives the int32 state index, which the tabular algorithms use.
    Entering a terminal state terminates; reaching ``max_episode_steps`` truncates.
    ``reward_noise`` = σ adds N(0, σ²) noise to every reward (``R`` stays the mean).
    """

    def __init__(
        self,
        env_id: str,
        mdp: MDP | None = None,
        observation: str = "onehot",
        max_episode_steps: int | None = None,
        reward_noise: float = 0.0,
        **kwargs: Any,
    ):
        if observation not in ("onehot", "index"):
            raise ValueError(f"observation must be 'onehot' or 'index', got {observation!r}")
        builder, default_limit = BUILDERS.get(env_id, (None, 100))
        if mdp is None:
            mdp = builder(**kwargs)
        limit = default_limit if max_episode_steps is None else int(max_episode_steps)
        if limit < 1:
            raise ValueError(f"env max_episode_steps must be >= 1, got {limit}")
        if not reward_noise >= 0.0:
            raise ValueError(f"env reward_noise must be >= 0, got {reward_noise}")
        self.reward_noise = float(reward_noise)
        self.env_id = env_id
        self.mdp = mdp
        self.observation = observation
        self.max_episode_steps = limit
        S = mdp.num_states
        self.observation_shape = (S,) if observation == "onehot" else ()
        self.observation_space = box(0.0, 1.0, (S,)) if observation == "onehot" else Discrete(S)
        self.action_space = Discrete(mdp.num_actions)

    def _obs(self, s: jax.Array) -> jax.Array:
        if self.observation == "index":
            return s
        return jax.nn.one_hot(s, self.mdp.num_states, dtype=jnp.float32)

    def _initial(self, key: jax.Array) -> jax.Array:
        return jax.random.categorical(key, jnp.log(jnp.asarray(self.mdp.init))).astype(jnp.int32)

    def reset(self, key: jax.Array):
        s = self._initial(key)
        return self._obs(s), TabularState(s, jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, env_state: TabularState, action: jax.Array):
        k_next, k_reset, k_noise = jax.random.split(key, 3)
        P, R, terminal = (jnp.asarray(x) for x in (self.mdp.P, self.mdp.R, self.mdp.terminal))
        s, a = env_state.s, jnp.asarray(action, jnp.int32)
        s_next = jax.random.categorical(k_next, jnp.log(P[s, a])).astype(jnp.int32)
        reward = R[s, a, s_next]
        if self.reward_noise > 0.0:
            reward = reward + self.reward_noise * jax.random.normal(k_noise)
        t = env_state.t + 1
        terminated = terminal[s_next]
        truncated = jnp.logical_and(t >= self.max_episode_steps, ~terminated)
        done = jnp.logical_or(terminated, truncated)
        s_new = jnp.where(done, self._initial(k_reset), s_next)
        state = TabularState(s_new, jnp.where(done, 0, t))
        info = {"final_obs": self._obs(s_next)}
        return self._obs(s_new), state, reward, terminated, truncated, info
