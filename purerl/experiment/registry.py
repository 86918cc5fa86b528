"""Which algorithms the experiment layer and the ``purerl`` command know, and their fields."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from types import ModuleType
from typing import Any, NamedTuple

from purerl import config as cfg

ALGORITHMS = {
    "ppo": "purerl.algos.ppo",
    "pg": "purerl.algos.pg",
    "trpo": "purerl.algos.trpo",
    "dqn": "purerl.algos.dqn",
    "ddpg": "purerl.algos.ddpg",
    "td3": "purerl.algos.td3",
    "sac": "purerl.algos.sac",
    "tabular": "purerl.algos.tabular",
    "sft": "purerl.algos.sft",
    "reward_model": "purerl.algos.reward_model",
    "rlhf_ppo": "purerl.algos.rlhf_ppo",
    "grpo": "purerl.algos.grpo",
}


def get_algorithm(name: str) -> ModuleType:
    """The algorithm module for ``name`` (``ValueError`` listing the known ones otherwise)."""
    if name not in ALGORITHMS:
        close = difflib.get_close_matches(name, ALGORITHMS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown algorithm {name!r}{hint}; known: {', '.join(ALGORITHMS)}")
    return importlib.import_module(ALGORITHMS[name])


class Field(NamedTuple):
    name: str
    default: Any
    static: bool  # fixes shapes or control flow: one value per compiled program
    values: str  # the values it takes, briefly (``purerl.config.field_values``)


def config_fields(config_cls: type) -> list[Field]:
    """The fields of an algorithm's ``Config`` class in declaration order, with defaults."""
    return [
        Field(f.name, f.default, bool(f.metadata.get("static", False)), cfg.field_values(f))
        for f in dataclasses.fields(config_cls)
    ]
