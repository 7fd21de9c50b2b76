"""Learning-rate schedules and the two stochastic solvers, sgd and adam.

The solvers follow sklearn's ``_stochastic_optimizers`` update rules but work
in place on preallocated arrays. A schedule gives the rate for each update;
sklearn's adam ignores ``learning_rate`` and so does ours, except for
``'cyclic'``, which any solver can follow.
"""

import math

import numpy as np

from .kernels import adam_step, sgd_step


class ConstantSchedule:
    """The same rate throughout; a plateau stops training."""

    def __init__(self, learning_rate_init):
        self.rate = learning_rate_init

    def step(self):
        """Called after each update."""

    def epoch_end(self, samples_seen):
        """Called after each epoch with the number of samples seen so far."""

    def plateau(self, verbose=False, message=""):
        """Called when the loss stops improving; returns True to stop training.

        ``message`` says why (sklearn's words); verbose prints it with the decision.
        """
        if verbose:
            print(f"{message} Stopping.".lstrip())
        return True


class InvScalingSchedule(ConstantSchedule):
    """``learning_rate_init / (t + 1) ** power_t``, t the samples seen (sklearn's 'invscaling')."""

    def __init__(self, learning_rate_init, power_t):
        super().__init__(learning_rate_init)
        self.learning_rate_init, self.power_t = learning_rate_init, power_t

    def epoch_end(self, samples_seen):
        self.rate = self.learning_rate_init / (samples_seen + 1) ** self.power_t


class AdaptiveSchedule(ConstantSchedule):
    """Divide the rate by 5 at each plateau; stop once it is below 1e-6 (sklearn's 'adaptive')."""

    def plateau(self, verbose=False, message=""):
        if self.rate <= 1e-6:
            return super().plateau(verbose, f"{message} Learning rate too small.".lstrip())
        self.rate /= 5.0
        if verbose:
            print(f"{message} Setting learning rate to {self.rate:f}".lstrip())
        return False


class CyclicSchedule(ConstantSchedule):
    """Triangular cyclical rate (Smith, 2017) between ``eta_min`` and ``eta_max``.

    It rises for ``step_size`` updates, falls for ``step_size`` more, and repeats.

    Examples
    --------
    >>> s = CyclicSchedule(1e-5, 1e-1, step_size=2)
    >>> rates = []
    >>> for _ in range(5):
    ...     rates.append(round(s.rate, 5))
    ...     s.step()
    >>> rates
    [1e-05, 0.05001, 0.1, 0.05001, 1e-05]
    """

    def __init__(self, eta_min, eta_max, step_size):
        super().__init__(eta_min)
        self.eta_min, self.eta_max, self.step_size = eta_min, eta_max, step_size
        self.updates = 0

    def step(self):
        self.updates += 1
        position = self.updates % (2 * self.step_size)
        distance = position if position <= self.step_size else 2 * self.step_size - position
        self.rate = self.eta_min + (self.eta_max - self.eta_min) * distance / self.step_size


class CosineSchedule(ConstantSchedule):
    """``learning_rate_init`` annealed along half a cosine over ``epochs`` epochs (Loshchilov and Hutter, 2017).

    Epoch k (from 1) runs at ``learning_rate_init * (1 + cos(pi * (k - 1) / epochs)) / 2``:
    the first at the full rate, the last at a small fraction of it; epochs
    past ``epochs`` (``partial_fit``) keep the last rate.

    Examples
    --------
    >>> s = CosineSchedule(0.1, epochs=4)
    >>> rates = []
    >>> for epoch in range(5):
    ...     rates.append(round(s.rate, 4))
    ...     s.epoch_end(samples_seen=None)
    >>> rates
    [0.1, 0.0854, 0.05, 0.0146, 0.0146]
    """

    def __init__(self, learning_rate_init, epochs):
        super().__init__(learning_rate_init)
        self.learning_rate_init, self.epochs, self.epochs_done = learning_rate_init, epochs, 0

    def epoch_end(self, samples_seen):
        self.epochs_done += 1
        done = min(self.epochs_done, self.epochs - 1)
        self.rate = self.learning_rate_init * (1 + math.cos(math.pi * done / self.epochs)) / 2


def make_schedule(estimator):
    """The schedule an estimator's ``learning_rate`` names."""
    if estimator.learning_rate == "cyclic":
        eta_min, eta_max = estimator.cyclic_bounds
        return CyclicSchedule(eta_min, eta_max, estimator.cyclic_step_size)
    if estimator.learning_rate == "cosine":
        return CosineSchedule(estimator.learning_rate_init, estimator.max_iter)
    if estimator.solver == "adam":
        return ConstantSchedule(estimator.learning_rate_init)
    if estimator.learning_rate == "invscaling":
        return InvScalingSchedule(estimator.learning_rate_init, estimator.power_t)
    if estimator.learning_rate == "adaptive":
        return AdaptiveSchedule(estimator.learning_rate_init)
    return ConstantSchedule(estimator.learning_rate_init)


class _Solver:
    @property
    def learning_rate(self):
        """The current rate, under sklearn's optimizers' name."""
        return self.schedule.rate

    def _decays(self, decay):
        """Each array's weight decay: ``decay`` on the ``decayed`` ones, 0 on the others."""
        return [decay if i in self.decayed else 0.0 for i in range(len(self.params))]


class SGD(_Solver):
    """Stochastic gradient descent with (Nesterov) momentum.

    ``velocity = momentum * velocity - rate * grad``; with Nesterov the step is
    ``momentum * velocity - rate * grad`` taken from the new velocity.
    ``decayed`` marks the arrays that weight decay applies to (the Dense
    weights); :meth:`update` adds it in the same pass (estimators.kernels).
    """

    def __init__(self, params, schedule, momentum=0.9, nesterov=True, decayed=()):
        self.params, self.schedule = params, schedule
        self.momentum, self.nesterov = momentum, nesterov
        self.decayed = tuple(decayed)
        self.velocities = [np.zeros_like(p) for p in params]

    def update(self, grads, decay=0.0, divisor=1.0):
        """One step, in place: each gradient used is ``(grad + decay * param) / divisor``,
        with ``decay`` on the ``decayed`` arrays only; ``grads`` are scratch space.

        Returns each array's sums of squares, of itself before the step and of its gradient used.
        """
        rate, momentum = self.schedule.rate, self.momentum
        squares = [sgd_step(param, grad, velocity, rate, momentum, self.nesterov, decay_, divisor)
                   for param, grad, velocity, decay_ in zip(self.params, grads, self.velocities, self._decays(decay))]
        self.schedule.step()
        return squares


class Adam(_Solver):
    """Adam (Kingma and Ba, 2014), with sklearn's bias correction folded into the rate."""

    def __init__(self, params, schedule, beta_1=0.9, beta_2=0.999, epsilon=1e-8, decayed=()):
        self.params, self.schedule = params, schedule
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.decayed = tuple(decayed)
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update(self, grads, decay=0.0, divisor=1.0):
        """One step, in place; ``decay``, ``divisor``, ``grads`` and what it returns,
        as :meth:`SGD.update`'s."""
        self.t += 1
        rate = (self.schedule.rate * math.sqrt(1 - self.beta_2**self.t)
                / (1 - self.beta_1**self.t))
        betas = (self.beta_1, self.beta_2)
        squares = [adam_step(param, grad, m, v, rate, betas, self.epsilon, decay_, divisor)
                   for param, grad, m, v, decay_ in zip(self.params, grads, self.ms, self.vs, self._decays(decay))]
        self.schedule.step()
        return squares


def make_optimizer(estimator, params, decayed=()):
    """The estimator's solver over ``params``; ``decayed``, the indices of those weight decay applies to."""
    schedule = make_schedule(estimator)
    if estimator.solver == "sgd":
        return SGD(params, schedule, estimator.momentum, estimator.nesterovs_momentum, decayed)
    return Adam(params, schedule, estimator.beta_1, estimator.beta_2, estimator.epsilon, decayed)
