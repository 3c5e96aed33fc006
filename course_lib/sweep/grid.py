"""A sweep's grid: which trainers, with which config overrides, on which environments and seeds.

A grid is declared in Python (:class:`Grid`) or in a YAML/JSON file (:func:`load_grid`)::

    trainers:                     # trainer name -> overrides, each a list of values
      ppo: {lr: [1e-3, 3e-4], total_steps: [50000]}
      dqn: {}
    envs: [CartPole-v1, Acrobot-v1]
    seeds: [0, 1, 2]
    base: {eval_episodes: 20}     # optional, applied to every trainer that has the field
    per_env:                      # optional: env id -> trainer -> fields (e.g. rl-baselines3-zoo's settings)
      Acrobot-v1: {ppo: {gamma: 0.99, solved_return: -100.0}}

Every trainer gets the cartesian product of its overrides' values, on every env and seed:
one *trial* per combination. :meth:`Grid.trials` checks the whole grid before anything
runs and raises a :class:`TypeError`/:class:`ValueError` naming the key that is wrong.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import pathlib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["Grid", "Trial", "TrainerSpec", "TRAINERS", "register_trainer", "load_grid", "resolve"]


@dataclass(frozen=True)
class TrainerSpec:
    """Where a trainer lives, as ``"module:attribute"`` strings, so that any worker process can import it.

    ``fixed`` are config fields the trainer name decides (``algo="ppo"``); a grid may not override them.
    """

    train: str
    config: str
    fixed: Mapping[str, object] = field(default_factory=dict)


TRAINERS: dict[str, TrainerSpec] = {
    "ppo": TrainerSpec("course_lib.rl.actor_critic:train_actor_critic", "course_lib.rl.actor_critic:ActorCriticConfig", {"algo": "ppo"}),
    "a2c": TrainerSpec("course_lib.rl.actor_critic:train_actor_critic", "course_lib.rl.actor_critic:ActorCriticConfig", {"algo": "a2c"}),
    "dqn": TrainerSpec("course_lib.rl.dqn:train_dqn", "course_lib.rl.dqn:DQNConfig"),
    "reinforce": TrainerSpec("course_lib.rl.reinforce:train_reinforce", "course_lib.rl.reinforce:ReinforceConfig"),
    "ddpg": TrainerSpec("course_lib.rl.off_policy:train_off_policy", "course_lib.rl.off_policy:OffPolicyConfig", {"algo": "ddpg"}),
    "td3": TrainerSpec("course_lib.rl.off_policy:train_off_policy", "course_lib.rl.off_policy:OffPolicyConfig", {"algo": "td3"}),
    "sac": TrainerSpec("course_lib.rl.off_policy:train_off_policy", "course_lib.rl.off_policy:OffPolicyConfig", {"algo": "sac"}),
}  # fmt: skip


def register_trainer(name: str, train: str, config: str, fixed: Mapping[str, object] | None = None) -> None:
    """Make ``name`` usable in grids. ``train`` and ``config`` are ``"module:attribute"`` paths; the module must be
    importable in the worker processes too (installed, or on their ``sys.path``)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    for arg, path in (("train", train), ("config", config)):
        resolve(path, arg)
    TRAINERS[name] = TrainerSpec(train, config, dict(fixed or {}))


def resolve(path: str, what: str = "path"):
    """Import ``"module:attribute"`` and return the attribute."""
    if not isinstance(path, str) or path.count(":") != 1:
        raise ValueError(f"{what} must be a 'module:attribute' string, got {path!r}")
    module, attr = path.split(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: everything a worker needs, as plain picklable, JSON-able data."""

    trial_id: str
    trainer: str
    env_id: str
    seed: int
    overrides: dict  #: this trial's values of the grid's overrides (base values excluded)
    config: dict  #: every field given to the config class (fixed, base, per_env, overrides and env_id)
    train: str
    config_type: str


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=list)


def _hash(obj, n: int = 16) -> str:
    return hashlib.sha256(_canonical(obj).encode()).hexdigest()[:n]


def _check_value(key: str, value, hint):
    """Check ``value`` against a config field's type hint and return it as the config wants it
    (an int where a float is expected becomes a float, a list where a tuple is expected a tuple)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return _check_value(key, value, a)
            except TypeError as e:
                errors.append(e)
        raise errors[0]
    if hint is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{key} must be a bool, got {type(value).__name__} {value!r}")
        return bool(value)
    if hint is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{key} must be an int, got {type(value).__name__} {value!r}")
        return int(value)
    if hint is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            hint_yaml = " (YAML reads 1e-3 as a string: write 1.0e-3)" if isinstance(value, str) else ""
            raise TypeError(f"{key} must be a float, got {type(value).__name__} {value!r}{hint_yaml}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"{key} must be a str, got {type(value).__name__} {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{key} must be a list or tuple, got {type(value).__name__} {value!r}")
        item = args[0] if args else object
        if len(args) == 2 and args[1] is Ellipsis or len(args) == 1:
            return tuple(_check_value(f"{key}[{i}]", v, item) for i, v in enumerate(value))
        return tuple(value)
    return value  # a type this checker does not know: the config's own __post_init__ judges it


def _env_registered(env_id: str) -> bool:
    import gymnasium as gym

    import course_lib.envs  # noqa: F401  (registers the course's own environments)

    return env_id in gym.registry


@dataclass(frozen=True)
class Grid:
    """Trainers x the cartesian product of their overrides x environments x seeds.

    Attributes:
        trainers: trainer name (a key of :data:`TRAINERS`) -> ``{config field: [values]}``.
        envs: Gymnasium env ids; each sets the config's ``env_id``.
        seeds: the seeds every combination runs with.
        base: ``{config field: value}`` applied to every trainer whose config has that field
            (e.g. ``eval_every``).
        per_env: env id -> trainer name -> ``{config field: value}``, applied on that env over ``base``;
            a trainer's overrides win over both.
    """

    trainers: Mapping[str, Mapping[str, Sequence]]
    envs: Sequence[str]
    seeds: Sequence[int]
    base: Mapping[str, object] = field(default_factory=dict)
    per_env: Mapping[str, Mapping[str, Mapping[str, object]]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The grid as plain data (what :func:`load_grid` reads, and what :attr:`hash` is taken of)."""
        return {
            "trainers": {t: {k: list(v) for k, v in o.items()} for t, o in self.trainers.items()},
            "envs": list(self.envs),
            "seeds": [int(s) if isinstance(s, (int, np.integer)) else s for s in self.seeds],
            "base": dict(self.base),
            "per_env": {e: {t: dict(v) for t, v in d.items()} for e, d in self.per_env.items()},
        }

    @property
    def hash(self) -> str:
        """A short hash of :meth:`to_dict`; every record of the results file carries it."""
        return _hash(self.to_dict())

    def trials(self) -> list[Trial]:
        """Check the whole grid and list its trials, in a fixed order (trainer, overrides, env, seed)."""
        if not isinstance(self.trainers, Mapping) or not self.trainers:
            raise ValueError(
                f"trainers must be a non-empty mapping of trainer name -> overrides, got {self.trainers!r}"
            )
        if isinstance(self.envs, str) or not isinstance(self.envs, Sequence) or not self.envs:
            raise ValueError(f"envs must be a non-empty list of env ids, got {self.envs!r}")
        for env in self.envs:
            if not isinstance(env, str):
                raise TypeError(f"envs must hold env id strings, got {type(env).__name__} {env!r}")
            if not _env_registered(env):
                raise ValueError(f"envs: unknown env id {env!r} (not in gymnasium's registry)")
        if len(set(self.envs)) != len(self.envs):
            raise ValueError(f"envs must not repeat an env id, got {list(self.envs)}")
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, Sequence) or len(self.seeds) == 0:
            raise ValueError(f"seeds must be a non-empty list of ints, got {self.seeds!r}")
        for s in self.seeds:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 0:
                raise TypeError(f"seeds must hold non-negative ints, got {type(s).__name__} {s!r}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must not repeat a seed, got {list(self.seeds)}")
        if not isinstance(self.base, Mapping):
            raise TypeError(f"base must be a mapping of config field -> value, got {type(self.base).__name__}")
        if not isinstance(self.per_env, Mapping):
            raise TypeError(f"per_env must be a mapping of env id -> trainer -> fields, got {self.per_env!r}")
        for env, by_trainer in self.per_env.items():
            if env not in self.envs:
                raise ValueError(f"per_env.{env}: not one of the grid's envs {list(self.envs)}")
            if not isinstance(by_trainer, Mapping):
                raise TypeError(f"per_env.{env} must be a mapping of trainer -> fields, got {by_trainer!r}")
            for name, values in by_trainer.items():
                if name not in self.trainers:
                    raise ValueError(f"per_env.{env}.{name}: not one of the grid's trainers {list(self.trainers)}")
                if not isinstance(values, Mapping):
                    raise TypeError(f"per_env.{env}.{name} must be a mapping of config field -> value, got {values!r}")

        trials, base_used = [], set()
        for name, overrides in self.trainers.items():
            if name not in TRAINERS:
                raise ValueError(f"trainers: unknown trainer {name!r}; known: {sorted(TRAINERS)}")
            spec = TRAINERS[name]
            config_type = resolve(spec.config, "config")
            hints = typing.get_type_hints(config_type)
            known = {f.name for f in fields(config_type)}
            if not isinstance(overrides, Mapping):
                raise TypeError(
                    f"trainers.{name} must be a mapping of config field -> list of values, got {overrides!r}"
                )
            base = {}
            for key, value in self.base.items():
                if key in known:
                    base_used.add(key)
                    if key in ("env_id", *spec.fixed):
                        raise ValueError(f"base.{key} cannot be set: it is decided by the grid's envs or trainer names")
                    base[key] = _check_value(f"base.{key}", value, hints[key])
            env_base = {}
            for env in self.envs:
                env_base[env] = {}
                for key, value in (self.per_env.get(env, {}).get(name) or {}).items():
                    where = f"per_env.{env}.{name}.{key}"
                    if key not in known:
                        raise ValueError(f"{where}: {config_type.__name__} has no field {key!r}")
                    if key in ("env_id", *spec.fixed):
                        raise ValueError(f"{where} cannot be set: it is decided by the grid's envs or trainer names")
                    env_base[env][key] = _check_value(where, value, hints[key])
            values = {}
            for key, vals in overrides.items():
                where = f"trainers.{name}.{key}"
                if key not in known:
                    raise ValueError(f"{where}: {config_type.__name__} has no field {key!r}; fields: {sorted(known)}")
                if key == "env_id":
                    raise ValueError(f"{where}: set environments with the grid's envs, not as an override")
                if key in spec.fixed:
                    raise ValueError(f"{where}: {key} is fixed to {spec.fixed[key]!r} by trainer {name!r}")
                if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or len(vals) == 0:
                    raise TypeError(f"{where} must be a non-empty list of values, got {vals!r}")
                values[key] = [_check_value(f"{where}[{i}]", v, hints[key]) for i, v in enumerate(vals)]
            keys = sorted(values)
            for combo in itertools.product(*(values[k] for k in keys)):
                chosen = dict(zip(keys, combo))
                for env in self.envs:
                    kwargs = {**spec.fixed, **base, **env_base[env], **chosen, "env_id": env}
                    try:
                        config_type(**kwargs)
                    except (TypeError, ValueError) as e:
                        raise type(e)(f"trainers.{name} with {chosen or 'no overrides'} on {env}: {e}") from e
                    for seed in self.seeds:
                        jsonable = json.loads(_canonical(chosen))
                        trials.append(
                            Trial(
                                trial_id=_hash(
                                    {"trainer": name, "env_id": env, "seed": int(seed), "overrides": jsonable}
                                ),
                                trainer=name,
                                env_id=env,
                                seed=int(seed),
                                overrides=jsonable,
                                config=kwargs,
                                train=spec.train,
                                config_type=spec.config,
                            )
                        )
        unused = set(self.base) - base_used
        if unused:
            raise ValueError(f"base: no trainer of this grid has field(s) {sorted(unused)}")
        return trials


def grid_from_dict(data: Mapping) -> Grid:
    """A :class:`Grid` from plain data. ``trainer: ppo`` with ``overrides: {...}`` is short for
    ``trainers: {ppo: {...}}``."""
    if not isinstance(data, Mapping):
        raise TypeError(f"a grid must be a mapping, got {type(data).__name__}")
    data = dict(data)
    if "trainer" in data:
        if "trainers" in data:
            raise ValueError("give either trainer (with overrides) or trainers, not both")
        data["trainers"] = {data.pop("trainer"): data.pop("overrides", {}) or {}}
    allowed = {"trainers", "envs", "seeds", "base", "per_env"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown grid key(s) {sorted(unknown)}; a grid has {sorted(allowed)}")
    missing = {"trainers", "envs", "seeds"} - set(data)
    if missing:
        raise ValueError(f"the grid has no {sorted(missing)}")
    trainers = data["trainers"]
    if not isinstance(trainers, Mapping):
        raise TypeError(f"trainers must be a mapping of trainer name -> overrides, got {trainers!r}")
    trainers = {name: (o or {}) for name, o in trainers.items()}  # `dqn:` with nothing after it in YAML
    return Grid(
        trainers=trainers,
        envs=data["envs"],
        seeds=data["seeds"],
        base=data.get("base") or {},
        per_env=data.get("per_env") or {},
    )


def load_grid(path: str | pathlib.Path) -> Grid:
    """Read a grid from a ``.json``, ``.yaml`` or ``.yml`` file (YAML needs PyYAML)."""
    path = pathlib.Path(path)
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
    elif path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as e:
            raise ImportError("reading a YAML grid needs PyYAML: pip install pyyaml (or a .json grid)") from e
        data = yaml.safe_load(text)
    else:
        raise ValueError(f"path must end with .json, .yaml or .yml, got {path.name!r}")
    return grid_from_dict(data)
