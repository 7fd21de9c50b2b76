"""The training of sgd and adam: shuffled mini-batches, one epoch at a time.

:class:`StochasticTrainingMixin` is the part of :class:`estimators.base.BaseMLP`
that L-BFGS (estimators.lbfgs) does not use: the epoch loop, each epoch's
``history_`` record, the bookkeeping of early stopping and of the plateau, and
Ctrl-C. A mixin of the estimator's own methods, as they were before the split,
so that the numbers and the attributes they set stay those of one class.
"""

import math
import time
import warnings

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

from .augment import epoch_batches
from .exceptions import DivergenceError
from .interrupts import interrupts_propagate
from .optimizers import make_optimizer


class StochasticTrainingMixin:
    """sgd's and adam's training of a :class:`estimators.base.BaseMLP`; not usable alone.

    It uses the estimator's network, parameters and hooks (``_split``,
    ``_score_validation``, ``_diverged``, ``_score_name``).
    """

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                          "It is going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _fit_stochastic(self, X, Y, sample_weight, validation_data, incremental):
        network = self._network
        if (not incremental or not hasattr(self, "_optimizer")
                or self._optimizer.params is not network.params):
            self._optimizer = make_optimizer(self, network.params)
        # Weight decay joins the solver's pass over each array (estimators.kernels); set
        # here too for an optimizer pickled before it did.
        self._optimizer.decayed = tuple(network.decayed_indices())
        if sparse.issparse(X):
            X = X.tocsr()  # batches are rows
        train, val = self._split(X, Y, sample_weight, validation_data)
        if val is not None and self.validation_scores_ is None:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        if self.early_stopping and self._best_state is None:
            self._best_state = network.snapshot()  # as sklearn: the initial weights are the first best
        try:
            self._train(train, val, incremental)
        except KeyboardInterrupt:
            if interrupts_propagate():
                raise
            warnings.warn("Training interrupted by user.")
        if self.early_stopping:
            network.restore(self._best_state)

    def _train(self, train, val, incremental):
        X, Y, weights = train
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        order = np.arange(n_samples)
        self.n_iter_ = 0  # as sklearn: the epochs of this call
        for _ in range(1 if incremental else self.max_iter):
            started = time.perf_counter()
            if self.shuffle:  # sklearn's draw: the previous order, shuffled again
                order = order[self._random_state.permutation(n_samples)]
            try:
                record = self._run_epoch(X, Y, weights, batch_size, order)
            except DivergenceError as error:
                if not self.early_stopping:
                    raise
                # The best weights so far are kept, as sklearn does with a non-finite score.
                self.validation_scores_.append(float("nan"))
                warnings.warn(f"{error} The best weights so far are kept.", ConvergenceWarning)
                return
            if val is not None:
                record.update(self._score_validation(*val))
            record["seconds"] = time.perf_counter() - started
            self.history_.append(record)
            if self._end_epoch(record, val):
                return
        if not incremental:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning)

    def _run_epoch(self, X, Y, weights, batch_size, order):
        """One pass over the data in ``order``; returns the epoch's record without validation."""
        network, optimizer = self._network, self._optimizer
        dense = not sparse.issparse(X)
        if dense:
            X_batch = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
            make_batch = epoch_batches(self, X)  # gathered, augmented, jittered
        Y_batch = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)
        total_loss, total_correct, norms = 0.0, 0, []
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            xb = make_batch(index, X_batch) if dense else X[index]
            yb = np.take(Y, index, axis=0, out=Y_batch[:len(index)], mode="clip")
            wb = None if weights is None else weights[index]
            loss, correct, weight_sum = network.data_loss_and_gradients(xb, yb, wb)
            # The step's one pass over each weight also sums the squares of the weights this batch ran
            # with (sklearn's L2 term) and of the gradients it used (their norms, Dense weights each).
            squares = optimizer.update(network.grads, *network.penalty_scales(self.alpha, weight_sum))
            coefs = [squares[i] for i in optimizer.decayed]
            if self.alpha:
                loss += 0.5 * self.alpha * sum(weight for weight, _ in coefs) / weight_sum
            if not np.isfinite(loss):
                self._diverged(f"the loss is {loss}", len(self.history_) + 1)
            norms.append([math.sqrt(gradient) for _, gradient in coefs])
            total_loss += loss * len(index)
            total_correct = None if correct is None else total_correct + correct
        if not network.is_finite():
            self._diverged("the parameters are no longer finite", len(self.history_) + 1)
        return self._epoch_record(X.shape[0], total_loss, total_correct, norms)

    def _epoch_record(self, n_samples, total_loss, total_correct, norms):
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = total_loss / n_samples
        self.loss_curve_.append(self.loss_)
        norms = np.asarray(norms)
        record = {"epoch": len(self.history_) + 1, "train_loss": self.loss_}
        if total_correct is not None:
            record["train_accuracy"] = total_correct / n_samples
        record.update({
            "learning_rate": float(self._optimizer.schedule.rate),
            "grad_norm_mean": norms.mean(axis=0).tolist(),
            "grad_norm_max": norms.max(axis=0).tolist(),
            "prelu_slopes": [s.tolist() for s in self._network.prelu_slopes()],
        })
        return record

    def _end_epoch(self, record, val):
        """Bookkeeping after an epoch, as sklearn's; returns True to stop."""
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        if val is not None:
            self.validation_scores_.append(record[self._score_name])
        if self.early_stopping:
            improved = self._early_stopping_step(record[self._score_name])
            what = "Validation score"
        else:
            improved = self.loss_ <= self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, self.loss_)
            if val is not None:
                self.best_validation_score_ = max(self.best_validation_score_, record[self._score_name])
            what = "Training loss"
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1
        self._optimizer.schedule.epoch_end(self.t_)
        stop = any([bool(callback(self, record)) for callback in self.callbacks or []])
        if self._no_improvement_count > self.n_iter_no_change:
            message = (f"{what} did not improve more than tol={self.tol:f} for "
                       f"{self.n_iter_no_change} consecutive epochs.")
            if self._optimizer.schedule.plateau(self.verbose, message):
                return True
            self._no_improvement_count = 0
        return stop

    def _early_stopping_step(self, score):
        """Keep the best weights; returns whether ``score`` improved by ``tol``."""
        if self.verbose:
            print(f"Validation score: {score:f}")
        improved = not score < self.best_validation_score_ + self.tol  # NaN counts as improved, as sklearn
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_state = self._network.snapshot()  # kept across warm starts, as sklearn
        return improved
