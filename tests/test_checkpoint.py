"""Checkpoints: atomic writes, safe loads, clear errors, and one save_agent/load_agent for every trainer."""

import os

import numpy as np
import pytest
import torch

from course_lib import checkpoint
from course_lib.checkpoint import Agent, CheckpointError, load_agent, save_agent
from course_lib.meta.maml import MetaConfig, meta_train
from course_lib.rl.actor_critic import ActorCriticConfig, train_actor_critic
from course_lib.rl.dqn import DQNConfig, train_dqn
from course_lib.rl.reinforce import ReinforceConfig, train_reinforce
from course_lib.rl.tabular import TDConfig, train_tabular


@pytest.fixture(scope="module")
def results():
    return {
        "reinforce": train_reinforce(ReinforceConfig(num_envs=4, n_steps=32, total_steps=256, eval_episodes=2), seed=0),
        "actor_critic": train_actor_critic(
            ActorCriticConfig(num_envs=4, n_steps=16, total_steps=128, n_epochs=1, minibatch_size=32, eval_episodes=2),
            seed=0,
        ),
        "dqn": train_dqn(
            DQNConfig(total_steps=300, learning_starts=100, buffer_size=500, batch_size=32, eval_episodes=2), seed=0
        ),
        "tabular": train_tabular(TDConfig(n_episodes=3, env_kwargs={"is_slippery": True}), seed=0),
        "meta": meta_train(MetaConfig(iterations=3, meta_batch=2, eval_tasks=4), seed=0),
    }


@pytest.mark.parametrize("kind", ["reinforce", "actor_critic", "dqn", "tabular", "meta"])
def test_every_agent_round_trips(results, tmp_path, kind):
    result = results[kind]
    path = tmp_path / "sub" / f"{kind}.pt"
    save_agent(result, path)
    assert path.exists() and not list(path.parent.glob(".*.tmp"))  # written atomically, nothing left behind
    agent = load_agent(path, kind=kind)
    assert isinstance(agent, Agent) and agent.kind == kind and agent.config == result.config
    obs = torch.randn(7, 4)
    if kind in ("reinforce", "actor_critic"):
        torch.testing.assert_close(agent.policy.logits(obs), result.policy.logits(obs))
        torch.testing.assert_close(agent.value(obs), result.value(obs))
    elif kind == "dqn":
        torch.testing.assert_close(agent.qnet(obs), result.qnet(obs))
    elif kind == "tabular":
        np.testing.assert_array_equal(agent.Q, result.Q)
        assert agent.config.env_kwargs == {"is_slippery": True}
    else:
        assert all(torch.equal(agent.params[k], result.params[k].detach()) for k in result.params)
        assert agent.config.family == result.config.family
    assert load_agent(path).kind == kind  # kind=None accepts any agent
    with pytest.raises(AttributeError, match="has no 'nonsense'"):
        _ = agent.nonsense


def test_loading_another_kind_is_refused(results, tmp_path):
    save_agent(results["dqn"], tmp_path / "dqn.pt")
    with pytest.raises(CheckpointError, match="holds a 'dqn' agent, not the 'actor_critic' agent"):
        load_agent(tmp_path / "dqn.pt", kind="actor_critic")
    with pytest.raises(ValueError, match="kind must be one of"):
        load_agent(tmp_path / "dqn.pt", kind="sac")
    with pytest.raises(TypeError, match="result must be a trainer's result"):
        save_agent({"qnet": 1}, tmp_path / "x.pt")


def test_damaged_truncated_empty_and_foreign_files_get_clear_errors(results, tmp_path):
    good = tmp_path / "good.pt"
    save_agent(results["actor_critic"], good)
    data = good.read_bytes()
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="is empty"):
        load_agent(tmp_path / "empty.pt")
    for name in ("truncated.pt", "text.pt"):
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            load_agent(tmp_path / name)
    # a plain checkpoint dict that is not an agent
    checkpoint.save({"weights": torch.zeros(3)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not an agent checkpoint"):
        load_agent(tmp_path / "plain.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_agent(tmp_path / "missing.pt")


def test_changed_weights_fail_the_checksum(results, tmp_path):
    path = tmp_path / "agent.pt"
    save_agent(results["dqn"], path)
    payload = torch.load(path, weights_only=True)
    payload["parts"]["qnet"]["tensors"]["net.0.weight"][0, 0] += 1.0  # e.g. a flipped byte on disk
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="damaged: its contents do not match their SHA-256 checksum"):
        load_agent(path)


def test_weights_only_refuses_arbitrary_objects(tmp_path):
    torch.save({"evil": object()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="safe loading"):
        checkpoint.load(tmp_path / "evil.pt")
    with pytest.raises(TypeError, match="payload must be a dict"):
        checkpoint.save([1, 2], tmp_path / "x.pt")


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    checkpoint.save({"x": torch.ones(2)}, path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save({"x": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.equal(checkpoint.load(path)["x"], torch.ones(2))
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pt"]


def test_truncated_at_random_offsets_and_flipped_bytes_are_refused(results, tmp_path):
    """Every cut and every flipped byte gives CheckpointError (naming the file), never changed weights."""
    good = tmp_path / "good.pt"
    save_agent(results["dqn"], good)
    data = good.read_bytes()
    rng = np.random.default_rng(0)
    bad = tmp_path / "bad.pt"
    for cut in rng.integers(1, len(data), size=25):
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="bad.pt"):
            load_agent(bad)
    for pos in rng.integers(0, len(data), size=40):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        bad.write_bytes(bytes(flipped))
        try:
            agent = load_agent(bad)
        except CheckpointError as e:
            assert "bad.pt" in str(e)
            continue
        # a flip in bytes that carry no data (zip padding, unused header fields) must leave the weights intact
        obs = torch.randn(3, 4)
        assert torch.equal(agent.qnet(obs), results["dqn"].qnet(obs)), f"byte {pos} changed the weights silently"


def test_structurally_wrong_agent_files_are_refused(results, tmp_path):
    path = tmp_path / "agent.pt"
    save_agent(results["reinforce"], path)
    payload = torch.load(path, weights_only=True)
    for change, words in (
        (lambda p: p.pop("parts"), r"lacks \['parts'\]"),
        (lambda p: p.pop("sha256"), r"lacks \['sha256'\]"),
        (lambda p: p.update(kind="sac"), "unknown kind 'sac'"),
        (lambda p: p["parts"]["policy"].pop("tensors"), "not a well-formed agent checkpoint"),
    ):
        broken = {**payload, "parts": {k: dict(v) for k, v in payload["parts"].items()}}
        change(broken)
        checkpoint.save(broken, path)
        with pytest.raises(CheckpointError, match=words):
            load_agent(path)


def test_a_killed_save_leaves_no_file_that_loads_and_its_temporary_is_cleaned_up(tmp_path):
    path = tmp_path / "ckpt.pt"
    checkpoint.save({"x": torch.ones(2)}, path)
    # what a save killed half-way leaves: a temporary file from a process that no longer runs
    dead_pid = 2**22 + 12345  # above Linux's default pid_max, so no process has it
    orphan = tmp_path / f".ckpt.pt.{dead_pid}.abcd.tmp"
    orphan.write_bytes(path.read_bytes()[:40])
    old = tmp_path / ".ckpt.pt.999999999.efgh.tmp"
    old.write_bytes(b"partial")
    os.utime(old, (0, 0))  # written in 1970: stale by age whatever its pid
    with pytest.raises(CheckpointError):
        checkpoint.load(orphan)
    assert torch.equal(checkpoint.load(path)["x"], torch.ones(2)), "the finished checkpoint is untouched"
    checkpoint.save({"x": torch.zeros(2)}, path)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pt"]
    live = tmp_path / f".ckpt.pt.{os.getppid()}.wxyz.tmp"  # a save in progress in a live process stays
    live.write_bytes(b"in progress")
    assert checkpoint.remove_stale_temporaries(path) == []
    assert live.exists()


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

BAD_INPUTS = [
    bad("save-payload-list", lambda: checkpoint.save([1, 2], "x.pt"), TypeError, "payload"),
    bad("save-agent-dict", lambda: save_agent({"qnet": 1}, "x.pt"), TypeError, "result"),
    bad("load-agent-kind", lambda: load_agent("x.pt", kind="sac"), ValueError, "kind"),
    bad("load-directory", lambda: checkpoint.load("."), CheckpointError, "."),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
