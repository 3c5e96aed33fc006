"""The trainer contract, checked on every trainer with a tiny budget.

``train_x(config, *, seed, device=None, callback=None) -> TrainResult``: the same
fields everywhere, steps counted in environment steps, the final network always
evaluated, the same seed giving the same run, and the reader's global random
generators left alone.
"""

import inspect
import random
from dataclasses import replace

import numpy as np
import pytest
import torch

from course_lib._validation import checking
from course_lib.meta import maml
from course_lib.meta.maml import MetaConfig, MetaResult, meta_train
from course_lib.rl.actor_critic import ActorCriticConfig, ActorCriticResult, train_actor_critic
from course_lib.rl.dqn import DQNConfig, DQNResult, train_dqn
from course_lib.rl.reinforce import ReinforceConfig, ReinforceResult, train_reinforce
from course_lib.rl.replay import PrioritizedReplayBuffer, ReplayBuffer
from course_lib.rl.rollouts import RolloutCollector
from course_lib.rl.tabular import TDConfig, TDResult, train_tabular
from course_lib.rl.trainer import TrainResult, start_run

TINY = {
    "reinforce": (train_reinforce, ReinforceConfig(num_envs=4, n_steps=32, total_steps=512, eval_every=256,
                                                   eval_episodes=2), ReinforceResult),
    "ppo": (train_actor_critic, ActorCriticConfig(num_envs=4, n_steps=16, total_steps=256, n_epochs=2,
                                                  minibatch_size=32, eval_every=128, eval_episodes=2),
            ActorCriticResult),
    "a2c": (train_actor_critic, ActorCriticConfig(algo="a2c", num_envs=4, n_steps=8, total_steps=256,
                                                  eval_every=128, eval_episodes=2), ActorCriticResult),
    "dqn": (train_dqn, DQNConfig(total_steps=600, learning_starts=200, buffer_size=1000, batch_size=32,
                                 eval_every=200, eval_episodes=2, log_every=10), DQNResult),
    "per-dqn": (train_dqn, DQNConfig(double=False, prioritized=True, total_steps=600, learning_starts=200,
                                     buffer_size=1000, batch_size=32, eval_every=200, eval_episodes=2, log_every=10),
                DQNResult),
    "tabular": (train_tabular, TDConfig(n_episodes=5, eval_every=50), TDResult),
    "meta": (meta_train, MetaConfig(iterations=6, meta_batch=4, eval_every=8, eval_tasks=10), MetaResult),
}  # fmt: skip


def weights(result) -> dict[str, np.ndarray]:
    """Every trained tensor of a result, as NumPy arrays."""
    out = {}
    for name in ("policy", "value", "qnet"):
        module = getattr(result, name, None)
        if module is not None:
            out.update({f"{name}.{k}": v.detach().cpu().numpy() for k, v in module.state_dict().items()})
    if isinstance(result, TDResult):
        out["Q"] = result.Q
    if isinstance(result, MetaResult):
        out.update({k: v.detach().cpu().numpy() for k, v in result.params.items()})
    return out


@pytest.mark.parametrize("name", TINY)
def test_signature_is_the_contract(name):
    fn = TINY[name][0]
    params = inspect.signature(fn).parameters
    assert list(params) == ["config", "seed", "device", "callback"]
    assert params["config"].default is inspect.Parameter.empty  # config is required
    assert params["seed"].kind is inspect.Parameter.KEYWORD_ONLY and params["seed"].default is inspect.Parameter.empty
    assert params["device"].default is None and params["callback"].default is None


@pytest.mark.parametrize("name", TINY)
def test_result_fields_and_evaluation_schedule(name):
    fn, config, result_type = TINY[name]
    seen = []
    result = fn(config, seed=0, device="cpu", callback=lambda r: seen.append(r) or len(seen))
    assert isinstance(result, result_type) and isinstance(result, TrainResult)
    assert result.config is config
    assert isinstance(result.train_seconds, float) and result.train_seconds > 0
    steps = [s for s, _ in result.episodes]
    assert steps == sorted(steps) and all(isinstance(s, int) and isinstance(r, float) for s, r in result.episodes)
    assert result.log and all("step" in row for row in result.log)
    log_steps = [row["step"] for row in result.log]
    assert log_steps == sorted(log_steps)
    # eval_every counts env steps (tasks in meta-learning); the final network is always evaluated
    evals = result.evaluations.steps
    assert len(evals) >= 2 and evals == sorted(evals)
    assert len({s // config.eval_every for s in evals[:-1]}) == len(evals) - 1
    assert evals[-1] >= max(log_steps) and evals[-1] >= max(steps, default=0)
    # the callback ran after each evaluation, with the result so far
    assert seen and all(r is result for r in seen)
    assert [s for s, _ in result.callback_log] == evals and [v for _, v in result.callback_log] == list(
        range(1, len(evals) + 1)
    )


@pytest.mark.parametrize("name", TINY)
def test_checks_are_skipped_only_inside_the_loop(name):
    """PPO, A2C, DQN and meta_train run their loop inside ``trusted()`` (checked once at the boundary): the
    per-step calls see the checks off. The reader's callback still runs with the checks on, and they are on again
    when training returns."""
    fn, config, _ = TINY[name]
    inside = []
    probes = {"ppo": (RolloutCollector, "collect"), "a2c": (RolloutCollector, "collect"),
              "dqn": (ReplayBuffer, "sample"), "per-dqn": (PrioritizedReplayBuffer, "sample"),
              "meta": (maml, "meta_gradient")}  # fmt: skip
    if name in probes:
        owner, attr = probes[name]
        original = getattr(owner, attr)

        def probe(*args, **kwargs):
            inside.append(checking())
            return original(*args, **kwargs)

        setattr(owner, attr, probe)
    try:
        seen = []
        fn(config, seed=0, callback=lambda r: seen.append(checking()))
    finally:
        if name in probes:
            setattr(owner, attr, original)
    assert seen and all(seen) and checking()
    if name in probes:
        assert inside and not any(inside), f"{name}: the loop's calls ran with the checks on"


def _nan_obs_env():
    """CartPole whose observation turns NaN after a few steps (a blown-up simulator)."""
    import gymnasium as gym

    class NaNAfter(gym.ObservationWrapper):
        def __init__(self, env):
            super().__init__(env)
            self.t = 0

        def reset(self, **kwargs):
            self.t = 0
            return super().reset(**kwargs)

        def step(self, action):
            self.t += 1
            return super().step(action)

        def observation(self, obs):
            return obs * np.nan if self.t >= 5 else obs

    return NaNAfter(gym.make("CartPole-v1"))


@pytest.mark.parametrize("name", ["dqn", "ppo", "a2c", "reinforce"])
def test_an_environment_that_returns_nan_is_refused_inside_the_loop(name):
    import gymnasium as gym

    if "NaNCartPole-v0" not in gym.registry:
        gym.register("NaNCartPole-v0", entry_point=_nan_obs_env)
    fn, config, _ = TINY[name]
    with pytest.raises(ValueError, match="the environment's observations must be finite"):
        fn(replace(config, env_id="NaNCartPole-v0"), seed=0)
    assert checking()


@pytest.mark.parametrize("name", TINY)
def test_same_seed_same_run_other_seed_other_run_and_global_rng_untouched(name):
    fn, config, _ = TINY[name]
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    states = torch.random.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    a, b, c = fn(config, seed=7), fn(config, seed=7), fn(config, seed=8)
    assert torch.equal(torch.random.get_rng_state(), states[0]), "torch's global generator was used"
    assert np.array_equal(np.random.get_state()[1], states[1]), "NumPy's global generator was used"
    assert random.getstate() == states[2], "Python's global generator was used"
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert a.episodes == b.episodes and a.evaluations.scores == b.evaluations.scores
    assert any(not np.array_equal(wa[k], wc[k]) for k in wa), "seeds 7 and 8 gave the same weights"


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
        ({"seed": 0, "callback": 3}, TypeError, "callback must be callable"),
        ({"seed": 0, "device": "tpu-ish"}, ValueError, "device must name a torch device"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        train_reinforce(TINY["reinforce"][1], **kwargs)
    with pytest.raises(TypeError, match="config must be a DQNConfig, got ReinforceConfig"):
        train_dqn(TINY["reinforce"][1], seed=0)


def test_run_generators_are_independent_streams():
    run = start_run(TINY["dqn"][1], DQNConfig, seed=3, device="cpu", callback=None)
    draws = [torch.rand(4, generator=run.init), torch.rand(4, generator=run.sample)]
    assert not torch.equal(*draws)
    again = start_run(TINY["dqn"][1], DQNConfig, seed=3, device="cpu", callback=None)
    assert torch.equal(torch.rand(4, generator=again.init), draws[0])


def test_log_series():
    result = train_actor_critic(TINY["ppo"][1], seed=0)
    steps, kl = result.log_series("approx_kl")
    assert len(steps) == len(kl) == len(result.log) and (kl >= -1e-6).all()
    with pytest.raises(ValueError, match="key 'nonsense' is not in this result's log"):
        result.log_series("nonsense")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
@pytest.mark.parametrize("name", ["reinforce", "ppo", "dqn", "meta"])
def test_trainers_run_on_cuda(name):
    fn, config, _ = TINY[name]
    result = fn(config, seed=0, device="cuda")
    tensors = [
        t for m in ("policy", "qnet") if getattr(result, m, None) is not None for t in getattr(result, m).parameters()
    ]
    tensors += list(getattr(result, "params", {}).values())
    assert tensors and all(t.is_cuda for t in tensors)
    assert result.evaluations.final_return is not None


# ---------------------------------------------------------------- bad inputs, refused with the argument named
from tests.bad_inputs import bad, refused  # noqa: E402

_DQN = TINY["dqn"][1]
BAD_INPUTS = [
    bad(
        "start-config-type",
        lambda: start_run({"lr": 1}, DQNConfig, seed=0, device=None, callback=None),
        TypeError,
        "config",
    ),
    bad(
        "start-seed-negative",
        lambda: start_run(_DQN, DQNConfig, seed=-2, device=None, callback=None),
        ValueError,
        "seed",
    ),
    bad(
        "start-seed-numpy-float",
        lambda: start_run(_DQN, DQNConfig, seed=np.float64(1), device=None, callback=None),
        TypeError,
        "seed",
    ),
    bad(
        "start-callback",
        lambda: start_run(_DQN, DQNConfig, seed=0, device=None, callback=[print]),
        TypeError,
        "callback",
    ),
    bad(
        "start-device-type", lambda: start_run(_DQN, DQNConfig, seed=0, device=0.5, callback=None), TypeError, "device"
    ),
    bad(
        "log-series-unknown",
        lambda: TrainResult(config=_DQN, evaluations=None).log_series("loss"),
        ValueError,
        "key",
        "loss",
    ),
]


@pytest.mark.parametrize("call, exc, words", BAD_INPUTS)
def test_bad_input_is_refused_clearly(call, exc, words):
    refused(call, exc, words)
