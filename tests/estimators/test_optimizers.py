"""Tests for estimators.optimizers: schedules and the sgd/adam updates against sklearn's."""

import numpy as np
import pytest
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from estimators import MLPClassifier
from estimators.optimizers import (
    SGD,
    Adam,
    AdaptiveSchedule,
    ConstantSchedule,
    CosineSchedule,
    CyclicSchedule,
    InvScalingSchedule,
    make_optimizer,
    make_schedule,
)


def small_arrays(seed, dtype=np.float64, n=3):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n + 1, n)).astype(dtype), rng.normal(size=n).astype(dtype),
            rng.normal(size=(n, 2)).astype(dtype)]


# ---------------------------------------------------------------- schedules


def test_constant_schedule():
    schedule = ConstantSchedule(0.3)
    for t in range(5):
        schedule.step()
        schedule.epoch_end(100 * t)
    assert schedule.rate == 0.3
    assert schedule.plateau() is True


def test_cyclic_schedule_is_triangular_over_two_cycles():
    eta_min, eta_max, step_size = 0.1, 0.7, 3
    schedule = CyclicSchedule(eta_min, eta_max, step_size)
    rates = []
    for _ in range(4 * step_size + 1):
        rates.append(schedule.rate)
        schedule.step()
    expected = [0.1, 0.3, 0.5, 0.7, 0.5, 0.3, 0.1, 0.3, 0.5, 0.7, 0.5, 0.3, 0.1]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    # Epoch ends and plateaus do not move it: only updates do.
    schedule.epoch_end(10_000)
    assert schedule.rate == pytest.approx(0.3)
    assert schedule.plateau() is True


def test_cyclic_schedule_stays_within_bounds():
    schedule = CyclicSchedule(1e-4, 0.05, step_size=7)
    rates = []
    for _ in range(100):
        schedule.step()
        rates.append(schedule.rate)
    assert min(rates) >= 1e-4 - 1e-15 and max(rates) <= 0.05 + 1e-15
    assert max(rates) == pytest.approx(0.05) and min(rates) == pytest.approx(1e-4)
    # period 2 * step_size
    np.testing.assert_allclose(rates[:14], rates[14:28])


@pytest.mark.parametrize("power_t", [0.5, 0.25, 1.0])
def test_invscaling_matches_sklearn(power_t):
    ours = InvScalingSchedule(0.1, power_t)
    theirs = SGDOptimizer(small_arrays(0), 0.1, "invscaling", power_t=power_t)
    assert ours.rate == theirs.learning_rate == 0.1
    for samples_seen in [0, 200, 400, 1000, 12345]:
        ours.epoch_end(samples_seen)
        theirs.iteration_ends(samples_seen)
        assert ours.rate == pytest.approx(theirs.learning_rate, rel=1e-15)
        ours.step()  # updates do not change it
        assert ours.rate == pytest.approx(theirs.learning_rate, rel=1e-15)
    assert ours.plateau() is True
    assert theirs.trigger_stopping("", False) is True


def test_adaptive_matches_sklearn():
    ours = AdaptiveSchedule(0.1)
    theirs = SGDOptimizer(small_arrays(0), 0.1, "adaptive")
    decisions = []
    for _ in range(12):
        ours.epoch_end(500)
        theirs.iteration_ends(500)
        assert ours.rate == theirs.learning_rate, "no change at epoch ends"
        stop_ours, stop_theirs = ours.plateau(), theirs.trigger_stopping("", False)
        assert stop_ours == stop_theirs
        assert ours.rate == pytest.approx(theirs.learning_rate, rel=1e-15)
        decisions.append(stop_ours)
        if stop_ours:
            break
    # 0.1 / 5**k <= 1e-6 first at k = 8: eight divisions, then a stop.
    assert decisions == [False] * 8 + [True]


def test_verbose_plateau_messages(capsys):
    AdaptiveSchedule(0.1).plateau(verbose=True)
    assert "learning rate" in capsys.readouterr().out.lower()
    ConstantSchedule(0.1).plateau(verbose=True)
    assert "stop" in capsys.readouterr().out.lower()


# --------------------------------------------------------------- optimizers


def _run_pair(ours_cls, theirs, ours_kwargs, steps=6, dtype=np.float64, seed=0, n=3):
    """Apply the same gradients to ours (in place) and sklearn's; return both params."""
    ours_params = small_arrays(seed, dtype, n)
    theirs_params = [p.copy() for p in ours_params]
    theirs_opt = theirs(theirs_params)
    ours_opt = ours_cls(ours_params, **ours_kwargs)
    ids = [id(p) for p in ours_params]
    rng = np.random.default_rng(seed + 100)
    for _ in range(steps):
        grads = [rng.normal(size=p.shape).astype(dtype) for p in ours_params]
        theirs_opt.update_params(theirs_params, [g.copy() for g in grads])
        ours_opt.update([g.copy() for g in grads])
    assert [id(p) for p in ours_opt.params] == ids, "updates must be in place"
    return ours_params, theirs_params


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("n", [3, 200], ids=["numpy", "blas"])  # 201 x 200 weights take the BLAS path
def test_sgd_matches_sklearn(nesterov, momentum, n):
    ours, theirs = _run_pair(
        SGD,
        lambda params: SGDOptimizer(params, 0.05, "constant", momentum=momentum, nesterov=nesterov),
        dict(schedule=ConstantSchedule(0.05), momentum=momentum, nesterov=nesterov), n=n,
    )
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert not np.allclose(ours[0], small_arrays(0, n=n)[0]), "the parameters moved"


@pytest.mark.parametrize("beta_1, beta_2, epsilon", [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3)])
@pytest.mark.parametrize("n", [3, 200], ids=["numpy", "blas"])
def test_adam_matches_sklearn(beta_1, beta_2, epsilon, n):
    ours, theirs = _run_pair(
        Adam,
        lambda params: AdamOptimizer(params, 0.01, beta_1, beta_2, epsilon),
        dict(schedule=ConstantSchedule(0.01), beta_1=beta_1, beta_2=beta_2, epsilon=epsilon), n=n,
    )
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_float32_updates_stay_float32_and_close_to_float64():
    for cls, theirs, kwargs in [
        (SGD, lambda p: SGDOptimizer(p, 0.05, "constant", momentum=0.9), {"momentum": 0.9}),
        (Adam, lambda p: AdamOptimizer(p, 0.01), {}),
    ]:
        ours, ref = _run_pair(cls, theirs, dict(schedule=ConstantSchedule(0.05 if cls is SGD else 0.01),
                                                **kwargs), dtype=np.float32)
        for a, b in zip(ours, ref):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sgd_follows_its_schedule_each_update():
    params = [np.zeros(2)]
    schedule = CyclicSchedule(0.1, 0.3, step_size=1)
    sgd = SGD(params, schedule, momentum=0.0, nesterov=False)
    moves = []
    for _ in range(4):
        before = params[0].copy()
        sgd.update([np.ones(2)])
        moves.append(float(before[0] - params[0][0]))
    np.testing.assert_allclose(moves, [0.1, 0.3, 0.1, 0.3], rtol=1e-12)


def test_adam_follows_a_cyclic_schedule():
    params = [np.zeros(1)]
    adam = Adam(params, CyclicSchedule(0.1, 0.3, step_size=1), beta_1=0.0, beta_2=0.0, epsilon=0.0)
    moves = []
    for _ in range(3):
        before = params[0].copy()
        adam.update([np.ones(1)])
        moves.append(float(before[0] - params[0][0]))
    # beta 0: each step is the rate times sign(grad)
    np.testing.assert_allclose(moves, [0.1, 0.3, 0.1], rtol=1e-12)


@pytest.mark.parametrize("solver, learning_rate, kind", [
    ("sgd", "constant", ConstantSchedule),
    ("sgd", "invscaling", InvScalingSchedule),
    ("sgd", "adaptive", AdaptiveSchedule),
    ("sgd", "cyclic", CyclicSchedule),
    ("adam", "constant", ConstantSchedule),
    ("adam", "invscaling", ConstantSchedule),  # sklearn's adam ignores learning_rate
    ("adam", "adaptive", ConstantSchedule),
    ("adam", "cyclic", CyclicSchedule),
    ("sgd", "cosine", CosineSchedule),
    ("adam", "cosine", CosineSchedule),
])
def test_make_schedule_and_optimizer(solver, learning_rate, kind):
    est = MLPClassifier(solver=solver, learning_rate=learning_rate, learning_rate_init=0.02,
                        cyclic_bounds=(0.001, 0.2), cyclic_step_size=7, momentum=0.7,
                        nesterovs_momentum=False, beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    schedule = make_schedule(est)
    assert type(schedule) is kind
    if kind is CyclicSchedule:
        assert (schedule.eta_min, schedule.eta_max, schedule.step_size) == (0.001, 0.2, 7)
        assert schedule.rate == 0.001
    else:
        assert schedule.rate == 0.02
    optimizer = make_optimizer(est, small_arrays(0))
    if solver == "sgd":
        assert isinstance(optimizer, SGD)
        assert (optimizer.momentum, optimizer.nesterov) == (0.7, False)
    else:
        assert isinstance(optimizer, Adam)
        assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.8, 0.99, 1e-7)
    assert type(optimizer.schedule) is kind
