"""Checkpoints: written atomically, loaded safely, checked for damage; one pair for every agent.

* :func:`save` / :func:`load` -- a dict of tensors and plain values. :func:`save`
  writes to a temporary file in the same folder and renames it over the target,
  so a crash never leaves a half-written checkpoint; :func:`load` uses
  ``torch.load(..., weights_only=True)``, which refuses to unpickle arbitrary
  objects, and turns every way a file can be unreadable into one clear error.
* :func:`save_agent` / :func:`load_agent` -- the result of any trainer
  (:mod:`course_lib.rl.trainer`): its networks (or table, or meta-parameters),
  their architecture and the config, with a SHA-256 checksum of all of it, so a
  damaged file is refused instead of loading changed weights.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
import pathlib
import pickle
import tempfile
import time
import zipfile
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["save", "load", "save_agent", "load_agent", "Agent", "CheckpointError", "remove_stale_temporaries"]

FORMAT = "course_lib.agent/1"


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint of the expected kind (a :class:`ValueError`)."""


STALE_AFTER_S = 3600.0  #: a temporary file this old is left over from a save that never finished


def _temporary_prefix(path: pathlib.Path, pid: int | None = None) -> str:
    return f".{path.name}.{os.getpid() if pid is None else pid}."


def _process_is_gone(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate a process on Windows; rely on the file's age there
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_stale_temporaries(path: str | os.PathLike) -> list[pathlib.Path]:
    """Delete temporary files that interrupted saves to ``path`` left behind; return what was removed.

    :func:`save` writes to ``.NAME.PID.XXXX.tmp`` beside ``path``. A file of that pattern is stale if
    the process that wrote it no longer runs, or if it is older than :data:`STALE_AFTER_S`; a save in
    progress in another live process is left alone. :func:`save` calls this before each write.
    """
    path = pathlib.Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid_text = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        try:
            old = time.time() - tmp.stat().st_mtime > STALE_AFTER_S
        except FileNotFoundError:
            continue
        gone = pid_text.isdigit() and int(pid_text) != os.getpid() and _process_is_gone(int(pid_text))
        if old or gone:
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def save(payload: dict[str, Any], path: str | os.PathLike) -> pathlib.Path:
    """Write ``payload`` (tensors, state dicts, numbers, strings, lists, dicts) to ``path`` atomically.

    The bytes go to a temporary file beside ``path`` that is renamed over it only once complete and
    flushed to disk, so ``path`` holds either the old checkpoint or the new one, never half of one.
    Temporaries left by saves that were killed are removed first (:func:`remove_stale_temporaries`).
    """
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save`, with ``weights_only=True``.

    Raises :class:`FileNotFoundError` if there is no file, and :class:`CheckpointError`
    (a :class:`ValueError`) if the file is empty, truncated, not a checkpoint, or holds
    objects that safe loading refuses.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty: not a checkpoint (was its save interrupted?)")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated, damaged or another format)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        reason = next((line for line in str(e).splitlines() if "Unsupported" in line), "")
        raise CheckpointError(
            f"{path} holds objects that safe loading (weights_only=True) refuses. {reason}".strip()
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated, damaged or another format): {e}") from e
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} does not hold a checkpoint dict, but a {type(payload).__name__}")
    return payload


# ---------------------------------------------------------------------------------------------- agents


@dataclasses.dataclass
class Agent:
    """What :func:`load_agent` returns: the trained parts of a result, ready to use.

    Attributes:
        kind: which trainer made it: ``"reinforce"``, ``"actor_critic"``, ``"dqn"``, ``"tabular"`` or ``"meta"``.
        config: the run's config (an ``XConfig``).
        parts: the networks by the result's field names, e.g. ``{"policy": ..., "value": ...}``
            (a tensor for a Q-table, a dict of tensors for meta-parameters). Each is also an attribute:
            ``agent.policy``, ``agent.qnet``, ``agent.Q``, ``agent.params``.
    """

    kind: str
    config: Any
    parts: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        parts = self.__dict__.get("parts", {})
        if name in parts:
            return parts[name]
        raise AttributeError(f"this {self.__dict__.get('kind')!r} agent has no {name!r}; it has {sorted(parts)}")


def _registries() -> tuple[dict[str, type], dict[str, type], dict[type, str]]:
    """Module classes, config classes and result kinds (imported here: checkpoint sits above rl and meta)."""
    from course_lib.meta.maml import MetaConfig, MetaResult
    from course_lib.rl import policies
    from course_lib.rl.actor_critic import ActorCriticConfig, ActorCriticResult
    from course_lib.rl.dqn import DQNConfig, DQNResult
    from course_lib.rl.reinforce import ReinforceConfig, ReinforceResult
    from course_lib.rl.tabular import TDConfig, TDResult

    modules = {
        c.__name__: c
        for c in (
            policies.CategoricalPolicy,
            policies.BernoulliPolicy,
            policies.GaussianPolicy,
            policies.ValueNet,
            policies.QNet,
        )
    }
    configs = {
        "reinforce": ReinforceConfig,
        "actor_critic": ActorCriticConfig,
        "dqn": DQNConfig,
        "tabular": TDConfig,
        "meta": MetaConfig,
    }
    kinds = {
        ReinforceResult: "reinforce",
        ActorCriticResult: "actor_critic",
        DQNResult: "dqn",
        TDResult: "tabular",
        MetaResult: "meta",
    }
    return modules, configs, kinds


def _config_to_dict(config: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        out[f.name] = dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
    return out


def _config_from_dict(cls: type, values: dict[str, Any]) -> Any:
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue  # a field added after the file was written keeps its default
        v = values[f.name]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default) and isinstance(v, dict):
            v = type(default)(**v)
        kwargs[f.name] = v
    return cls(**kwargs)


def _digest(kind: str, config: dict, parts: dict) -> str:
    h = hashlib.sha256()
    h.update(kind.encode())
    h.update(repr(sorted(config.items())).encode())
    for name in sorted(parts):
        spec = parts[name]
        h.update(name.encode())
        h.update(repr(spec.get("class")).encode())
        h.update(repr(sorted(spec.get("kwargs", {}).items())).encode())
        for key in sorted(spec["tensors"]):
            t = spec["tensors"][key].detach().cpu().contiguous()
            h.update(f"{key}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_agent(result: Any, path: str | os.PathLike) -> pathlib.Path:
    """Write the trained parts of ``result`` (any trainer's), their architecture and the config to ``path``,
    atomically, with a checksum. Evaluations and logs are not saved."""
    _, _, kinds = _registries()
    kind = kinds.get(type(result))
    if kind is None:
        raise TypeError(
            f"result must be a trainer's result ({', '.join(k.__name__ for k in kinds)}), got {type(result).__name__}"
        )
    parts: dict[str, dict] = {}
    for f in dataclasses.fields(result):
        v = getattr(result, f.name)
        if isinstance(v, nn.Module):
            parts[f.name] = {
                "class": type(v).__name__,
                "kwargs": dict(v.init_kwargs),
                "tensors": {k: t.detach().cpu() for k, t in v.state_dict().items()},
            }
        elif isinstance(v, np.ndarray):
            parts[f.name] = {"class": "ndarray", "tensors": {"array": torch.from_numpy(v.copy())}}
        elif isinstance(v, dict) and v and all(isinstance(t, torch.Tensor) for t in v.values()):
            parts[f.name] = {"class": "params", "tensors": {k: t.detach().cpu() for k, t in v.items()}}
    config = _config_to_dict(result.config)
    payload = {"format": FORMAT, "kind": kind, "config": config, "parts": parts, "sha256": _digest(kind, config, parts)}
    return save(payload, path)


def load_agent(path: str | os.PathLike, kind: str | None = None, *, device: str | torch.device = "cpu") -> Agent:
    """Rebuild the agent saved by :func:`save_agent` (read with ``weights_only=True``).

    Args:
        kind: if given, the file must hold that kind of agent (e.g. ``"dqn"``).
        device: where the networks go.

    Raises :class:`CheckpointError` (a :class:`ValueError`) for a file that is not an agent
    checkpoint, is damaged (checksum mismatch), or holds another kind than ``kind``.
    """
    modules, configs, _ = _registries()
    if kind is not None and kind not in configs:
        raise ValueError(f"kind must be one of {sorted(configs)} or None, got {kind!r}")
    payload = load(path)
    if payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an agent checkpoint of this course (format {payload.get('format')!r})")
    missing = [k for k in ("kind", "config", "parts", "sha256") if k not in payload]
    if missing:
        raise CheckpointError(f"{path} is not a complete agent checkpoint: it lacks {missing}")
    stored = payload["kind"]
    if stored not in configs:
        raise CheckpointError(f"{path} holds an agent of unknown kind {stored!r}; known: {sorted(configs)}")
    if kind is not None and stored != kind:
        raise CheckpointError(f"{path} holds a {stored!r} agent, not the {kind!r} agent asked for")
    try:
        digest = _digest(stored, payload["config"], payload["parts"])
    except (KeyError, TypeError, AttributeError, RuntimeError) as e:
        raise CheckpointError(f"{path} is not a well-formed agent checkpoint ({type(e).__name__}: {e})") from e
    if digest != payload["sha256"]:
        raise CheckpointError(f"{path} is damaged: its contents do not match their SHA-256 checksum")
    try:
        return _rebuild(stored, configs[stored], modules, payload, device)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path} could not be rebuilt into a {stored!r} agent ({type(e).__name__}: {e})") from e


def _rebuild(stored: str, config_cls: type, modules: dict[str, type], payload: dict, device) -> Agent:
    config = _config_from_dict(config_cls, payload["config"])
    parts: dict[str, Any] = {}
    for name, spec in payload["parts"].items():
        tensors = spec["tensors"]
        if spec["class"] == "ndarray":
            parts[name] = tensors["array"].numpy()
        elif spec["class"] == "params":
            parts[name] = {k: t.to(device) for k, t in tensors.items()}
        else:
            module = modules[spec["class"]](**spec["kwargs"])
            module.load_state_dict(tensors)
            parts[name] = module.to(device).eval()
    return Agent(kind=stored, config=config, parts=parts)
