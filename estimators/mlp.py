"""The multi-layer perceptrons: a shared base, and ``MLPClassifier``.

``BaseMLP`` holds what the classifier and ``MLPRegressor`` (estimators.regressor)
share: the parameters, input checks, the network, the per-batch training loop
of sgd and adam, L-BFGS (estimators.lbfgs), early stopping and the history.
"""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from . import lbfgs
from .activations import ACTIVATIONS, Activation
from .augment import check_augment, epoch_batches
from .interrupts import interrupts_propagate
from .network import Network
from .optimizers import make_optimizer

SPARSE_FORMATS = ["csr", "csc"]


class DivergenceError(ArithmeticError, ValueError):
    """Training produced a non-finite loss or non-finite parameters.

    A ``ValueError`` too, as sklearn's error for non-finite weights. Its
    ``history`` attribute holds the epochs recorded before it happened.
    """

    history = ()


def init_weights(rng, fan_in, fan_out, method, activation, dtype):
    """One layer's ``(coef, intercept)``.

    'glorot_uniform' draws both from sklearn's uniform bound (so a given
    ``random_state`` gives sklearn's initial weights); the normal schemes start
    the intercepts at zero.
    """
    if method == "glorot_uniform":
        factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = rng.uniform(-bound, bound, (fan_in, fan_out))
        intercept = rng.uniform(-bound, bound, fan_out)
    else:
        gain = 2.0 if method == "he_normal" else 1.0
        coef = rng.normal(0.0, np.sqrt(gain / fan_in), (fan_in, fan_out))
        intercept = np.zeros(fan_out)
    return coef.astype(dtype), intercept.astype(dtype)


def _trainable(array, dtype):
    """``array`` itself when it can be trained in place, else a copy that can."""
    return np.require(np.asarray(array, dtype=dtype), requirements=["C", "W"])


class BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share; use one of them."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(ACTIVATIONS.keys()), Activation],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cyclic", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "slope": [Interval(Real, None, None, closed="neither")],
        "prelu_per": [StrOptions({"layer", "unit"})],
        "batch_norm": [None, StrOptions({"before", "after"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "jitter": [Interval(Real, 0, None, closed="left")],
        "augment": [None, dict],
        "image_shape": [None, tuple, list],
        "cyclic_bounds": [tuple, list],
        "cyclic_step_size": [Interval(Integral, 1, None, closed="left")],
        "weight_init": [StrOptions({"glorot_uniform", "he_normal", "lecun_normal"})],
        "dtype": [None, StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
        "callbacks": [None, list],
    }

    #: The validation score of early stopping, as a ``history_`` key.
    _score_name = "val_score"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        slope=0.01,
        prelu_per="layer",
        batch_norm=None,
        dropout=0.0,
        jitter=0.0,
        augment=None,
        image_shape=None,
        cyclic_bounds=(1e-5, 1e-1),
        cyclic_step_size=500,
        weight_init="glorot_uniform",
        dtype="float32",
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.slope = slope
        self.prelu_per = prelu_per
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.jitter = jitter
        self.augment = augment
        self.image_shape = image_shape
        self.cyclic_bounds = cyclic_bounds
        self.cyclic_step_size = cyclic_step_size
        self.weight_init = weight_init
        self.dtype = dtype
        self.callbacks = callbacks

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, validation_data=None):
        """Fit the model to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        validation_data : tuple (X_val, y_val), default=None
            Scored after every epoch (``val_loss`` and the score in
            ``history_``); used for early stopping instead of a split.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=False, validation_data=validation_data)

    def _check_solver(self):
        if self.solver == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _fit(self, X, y, sample_weight, incremental, validation_data=None):
        self._check_added_params()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if (self.jitter or self.augment) and sparse.issparse(X):
            what = (f"jitter={self.jitter} adds dense noise" if self.jitter
                    else f"augment={self.augment} moves image pixels")
            raise ValueError(f"{what}: it needs dense X, got a sparse matrix")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], Y.shape[1], X.dtype)
        else:
            self._sync_network()
        try:
            # Overflow is caught by the divergence check, which says more than NumPy's warning.
            with np.errstate(over="ignore", invalid="ignore"):
                if self.solver == "lbfgs":
                    self._fit_lbfgs(X, Y, sample_weight, validation_data)
                else:
                    self._fit_stochastic(X, Y, sample_weight, validation_data, incremental)
        except DivergenceError as error:
            error.history = self.history_  # what was measured before it diverged
            self._forget_fit()
            raise
        finally:
            if hasattr(self, "_network"):
                self._network.release_buffers()
        return self

    def _check_added_params(self):
        check_augment(self.augment, self.image_shape)
        bounds = self.cyclic_bounds
        if (len(bounds) != 2 or not all(isinstance(b, Real) and np.isfinite(b) for b in bounds)
                or not 0 < bounds[0] < bounds[1]):
            raise InvalidParameterError(
                f"The 'cyclic_bounds' parameter of {type(self).__name__} must be a pair "
                f"(eta_min, eta_max) with 0 < eta_min < eta_max. Got {bounds!r} instead."
            )
        if self.solver == "lbfgs" and (self.dropout or self.jitter or self.augment):
            raise ValueError(
                f"solver='lbfgs' needs a deterministic loss, but dropout={self.dropout}, "
                f"jitter={self.jitter} and augment={self.augment} make it random: "
                "set them to 0 / None or use 'sgd' or 'adam'")

    def _input_dtype(self, reset):
        """The dtype X is converted to: the network's once there is one, else ``dtype``'s."""
        if not reset and hasattr(self, "coefs_") and len(self.coefs_):
            return np.asarray(self.coefs_[0]).dtype
        if self.dtype is None:
            return (np.float64, np.float32)  # as sklearn: float32 stays, the rest is float64
        return np.dtype(self.dtype)

    def _validate_X(self, X, reset=False):
        return validate_data(self, X, accept_sparse=SPARSE_FORMATS, reset=reset,
                             dtype=self._input_dtype(reset))

    def _initialize(self, n_features, n_outputs, dtype):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        units = [n_features, *sizes, n_outputs]
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(units)
        self.out_activation_ = self._output_activation()
        name = self.activation if isinstance(self.activation, str) else None
        weights = [init_weights(self._random_state, a, b, self.weight_init, name, dtype)
                   for a, b in zip(units[:-1], units[1:])]
        self.coefs_ = [w for w, _ in weights]
        self.intercepts_ = [b for _, b in weights]
        self._noise = None  # drawn when dropout or jitter first need it: no extra draw otherwise
        self._build_network()
        self._reset_training_state()

    def _reset_training_state(self):
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.history_ = []
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self.best_loss_ = None if self.early_stopping else np.inf
        self._no_improvement_count = 0

    def _noise_source(self):
        """The generator of dropout masks and jitter, seeded from ``random_state`` at first use."""
        if getattr(self, "_noise", None) is None:
            self._noise = np.random.default_rng(self._random_state.randint(np.iinfo(np.int32).max))
        return self._noise

    def _layer_options(self):
        activation = self.activation if isinstance(self.activation, str) else repr(self.activation)
        return (activation, self.slope, self.prelu_per, self.batch_norm, self.dropout)

    def _build_network(self):
        """The layers around ``coefs_`` and ``intercepts_`` (which they train in place)."""
        rng = self._noise_source() if self.dropout else None
        self._network = Network(
            self.coefs_, self.intercepts_, self.out_activation_, self.activation,
            slope=self.slope, prelu_per=self.prelu_per, batch_norm=self.batch_norm,
            dropout=self.dropout, rng=rng,
        )
        self._network_options = self._layer_options()
        self._best_state = None  # early stopping's best weights, for these layers

    def _sync_network(self):
        """Make the network the one of ``coefs_`` and ``intercepts_``, as the user may have set them."""
        network = getattr(self, "_network", None)
        arrays = [d.coef for d in network.dense] + [d.intercept for d in network.dense] if network else []
        if [id(a) for a in arrays] != [id(a) for a in list(self.coefs_) + list(self.intercepts_)]:
            self._adopt_weights()
        elif self._layer_options() != self._network_options:
            self._build_network()  # warm start with a new activation: as sklearn, over the kept weights

    def _adopt_weights(self):
        """Train and predict with ``coefs_`` and ``intercepts_`` that were assigned, not learned."""
        network = getattr(self, "_network", None)
        shapes = [np.shape(a) for a in list(self.coefs_) + list(self.intercepts_)]
        if network and shapes == [a.shape for a in [d.coef for d in network.dense]
                                  + [d.intercept for d in network.dense]]:
            # The same layout: keep the layers (batch norm statistics, PReLU slopes).
            dtype = network.dense[0].coef.dtype
            self.coefs_, self.intercepts_ = ([_trainable(a, dtype) for a in arrays]
                                             for arrays in (self.coefs_, self.intercepts_))
            network.use_weights(self.coefs_, self.intercepts_)
            self.__dict__.pop("_optimizer", None)
            return
        dtype = np.asarray(self.coefs_[0]).dtype
        dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        self.coefs_ = [np.array(c, dtype=dtype, order="C", ndmin=2) for c in self.coefs_]
        self.intercepts_ = [np.array(b, dtype=dtype, ndmin=1) for b in self.intercepts_]
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = self.coefs_[-1].shape[1]
        if not hasattr(self, "out_activation_"):
            self.out_activation_ = self._output_activation()
        if not hasattr(self, "history_"):
            saved = {k: getattr(self, k) for k in ("n_iter_", "t_", "loss_curve_", "best_loss_")
                     if hasattr(self, k)}
            self._reset_training_state()
            vars(self).update(saved)
        self._build_network()
        self.__dict__.pop("_optimizer", None)

    def _split(self, X, Y, sample_weight, validation_data):
        """``(X, Y, weights)`` to train on and ``(X, y, Y, weights)`` to score, or None.

        As sklearn: the early-stopping split draws from ``random_state`` after
        the initial weights, and is stratified only for a single output column.
        """
        if validation_data is not None:
            X_val, Y_val, y_val = self._validate_validation_data(*validation_data, X.dtype)
            return (X, Y, sample_weight), (X_val, y_val, Y_val, None)
        if not self.early_stopping or self.solver == "lbfgs":
            return (X, Y, sample_weight), None
        stratify = Y.astype(bool) if is_classifier(self) and self.n_outputs_ == 1 else None
        arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
        parts = train_test_split(*arrays, random_state=self._random_state,
                                 test_size=self.validation_fraction, stratify=stratify)
        if parts[1].shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        weights = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        return (parts[0], parts[2], weights[0]), (parts[1], self._targets(parts[3]), parts[3], weights[1])

    # ------------------------------------------------------------- training

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
            make_batch = epoch_batches(self, X, batch_size)  # gathered, augmented, jittered
        Y_batch = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)
        total_loss, total_correct, norms = 0.0, 0, []
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            xb = make_batch(index, X_batch) if dense else X[index]
            yb = np.take(Y, index, axis=0, out=Y_batch[:len(index)], mode="clip")
            wb = None if weights is None else weights[index]
            loss, correct = network.loss_and_gradients(xb, yb, self.alpha, wb)
            if not np.isfinite(loss):
                self._diverged(f"the loss is {loss}", len(self.history_) + 1)
            norms.append(network.weight_gradient_norms())
            optimizer.update(network.grads)
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

    def _diverged(self, what, epoch):
        activation = self.activation if isinstance(self.activation, str) else repr(self.activation)
        raise DivergenceError(
            f"Training diverged at epoch {epoch}: {what} "
            f"(activation={activation!r}, slope={self.slope}, solver={self.solver!r}, "
            f"learning_rate_init={self.learning_rate_init}). Lower the learning rate or the slope. "
            "Solver produced non-finite parameter weights. The input data may contain large "
            "values and need to be preprocessed."
        )

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

    def _fit_lbfgs(self, X, Y, sample_weight, validation_data):
        """Full-batch L-BFGS-B, as sklearn's (no early-stopping split; ``validation_data`` is scored)."""
        (X, Y, sample_weight), val = self._split(X, Y, sample_weight, validation_data)
        if val is not None and self.validation_scores_ is None:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        started = [time.perf_counter()]

        def on_iteration(loss):
            record = {"epoch": len(self.history_) + 1, "train_loss": loss,
                      "prelu_slopes": [s.tolist() for s in self._network.prelu_slopes()]}
            if val is not None:
                record.update(self._score_validation(*val))
                self.validation_scores_.append(record[self._score_name])
                self.best_validation_score_ = max(self.best_validation_score_, record[self._score_name])
            record["seconds"] = time.perf_counter() - started[0]
            started[0] = time.perf_counter()
            self.history_.append(record)
            self.loss_curve_.append(loss)
            return any([bool(callback(self, record)) for callback in self.callbacks or []])

        result, self.n_iter_ = lbfgs.minimize(self, X, Y, sample_weight, on_iteration)
        self.loss_ = float(result.fun)
        if not (np.isfinite(self.loss_) and self._network.is_finite()):
            self._diverged(f"the loss is {self.loss_}" if not np.isfinite(self.loss_)
                           else "the parameters are no longer finite", len(self.history_) + 1)

    def __setstate__(self, state):
        super().__setstate__(state)
        if hasattr(self, "_optimizer") and hasattr(self, "_network"):
            self._optimizer.params = self._network.params  # as the network's (joblib)

    def _forget_fit(self):
        """Leave the estimator unfitted: never half-trained and full of NaN."""
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
            delattr(self, name)
        for name in ("_network", "_optimizer", "_label_binarizer", "_best_state", "_network_options"):
            self.__dict__.pop(name, None)

    # -------------------------------------------------------------- predict

    def _forward(self, X):
        """The network's output for ``X`` (checked), with the current ``coefs_``."""
        check_is_fitted(self)
        X = self._validate_X(X)
        self._sync_network()
        return self._network.forward(X)

    @property
    def prelu_slopes_(self):
        check_is_fitted(self)
        return self._network.prelu_slopes()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = not (self.jitter or self.augment)  # both change dense images
        return tags


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained by lbfgs, sgd or adam, in NumPy.

    Every parameter that ``sklearn.neural_network.MLPClassifier`` has keeps
    its name, meaning and default, so replacing the import keeps a script
    working; with ``dtype=None`` and float64 data it computes sklearn's
    numbers. The rest are additions.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int or int, default=(100,)
        Units of each hidden layer.
    activation : str or Activation, default='relu'
        A name registered in ``estimators.activations.ACTIVATIONS`` ('identity',
        'relu', 'leaky_relu', 'prelu', 'sigmoid' (alias 'logistic'), 'tanh',
        'lecun_tanh', 'elu', 'gelu', 'swish', or your own), or an instance.
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'lbfgs' is scipy's L-BFGS-B on the full data, as sklearn's, for any
        activation and batch norm; it refuses dropout and jitter (a random loss).
    alpha : float, default=1e-4
        L2 penalty, scaled as sklearn's: ``0.5 * alpha * ||W||^2 / batch_size``.
        The per-sample coefficient lambda of the textbooks is ``alpha / (2 * batch_size)``.
    batch_size : int or 'auto', default='auto'
        'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive', 'cyclic', 'cosine'}, default='constant'
        sgd's schedule, as sklearn's; 'cyclic' is the triangular cyclical rate
        between ``cyclic_bounds`` with half-period ``cyclic_step_size`` updates,
        and 'cosine' anneals ``learning_rate_init`` along half a cosine over
        the ``max_iter`` epochs, both followed by sgd and adam alike.
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs.
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
    tol : float, default=1e-4
    verbose : bool, default=False
    warm_start : bool, default=False
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Stop when the validation accuracy stops improving; the validation set
        is ``validation_data`` when ``fit`` gets one, else a split of X.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float
        Adam's parameters.
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
        lbfgs's largest number of loss evaluations.
    slope : float, default=0.01
        Leaky ReLU's slope for negative inputs, any real number (1 makes it the
        identity); also PReLU's initial slope.
    prelu_per : {'layer', 'unit'}, default='layer'
        One learned PReLU slope per hidden layer, or one per unit.
    batch_norm : {None, 'before', 'after'}, default=None
        Batch normalization of each hidden layer, before or after its activation.
    dropout : float in [0, 1), default=0.0
        Inverted dropout rate on hidden activations, while training.
    jitter : float, default=0.0
        Standard deviation of Gaussian noise added to each training batch
        (fresh per sample and epoch, drawn a batch ahead on a second thread).
    augment : dict, default=None
        Image augmentation of training batches, per sample: ``shift`` (int,
        largest shift in pixels, zeros brought in), ``crop_padding`` (int,
        a random crop of the image padded with that many zeros) and ``flip``
        (bool, mirror left-right half of the time), e.g.
        ``{"shift": 2, "flip": True}``. See ``estimators.augment``.
    image_shape : tuple, default=None
        ``(height, width)`` or ``(height, width, channels)`` of X's flat rows
        (channels last) for ``augment``; None infers a square grey or RGB image.
    cyclic_bounds : tuple (eta_min, eta_max), default=(1e-5, 1e-1)
    cyclic_step_size : int, default=500
        Updates from ``eta_min`` to ``eta_max`` (the n_s of Smith's paper).
    weight_init : {'glorot_uniform', 'he_normal', 'lecun_normal'}, default='glorot_uniform'
    dtype : {'float32', 'float64'} or None, default='float32'
        Precision of the parameters and of the computation. None follows the
        input as sklearn does (float32 stays float32, anything else is
        float64); float32, the fast path, is the default.
    callbacks : list of callables, default=None
        Each is called as ``callback(estimator, record)`` after every epoch,
        ``record`` being the epoch's entry of ``history_``; returning True
        stops training.

    Attributes
    ----------
    classes_, coefs_, intercepts_, n_iter_, t_, loss_, loss_curve_, best_loss_,
    validation_scores_, best_validation_score_, n_features_in_, n_layers_,
    n_outputs_, out_activation_ :
        As sklearn's: ``n_iter_`` counts the epochs of the last call, and
        assigning ``coefs_`` or ``intercepts_`` changes the model. With lbfgs,
        ``loss_curve_`` and ``history_`` have one entry per iteration (sklearn
        keeps none).
    history_ : list of dict
        One record per epoch, over every call: ``epoch``, ``train_loss``, ``train_accuracy``
        (over the epoch's batches, as the weights changed), ``learning_rate``,
        ``grad_norm_mean`` and ``grad_norm_max`` (per Dense layer, over the
        epoch's batches), ``prelu_slopes`` (per PReLU layer), ``seconds``, and
        with validation data ``val_loss`` and ``val_accuracy``.
    prelu_slopes_ : list of ndarray
        The learned slopes of each PReLU layer.

    Notes
    -----
    Ctrl-C during sgd or adam warns "Training interrupted by user." and
    returns, as sklearn; inside :func:`estimators.propagate_interrupts` it
    propagates. A non-finite loss or weights raise :class:`DivergenceError`
    (a ValueError, as sklearn's) and leave the estimator unfitted, except
    with early stopping, where the best weights so far are kept.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from estimators import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((64,), activation="leaky_relu", slope=-0.5,
    ...                     batch_norm="before", max_iter=20, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.95
    True
    """

    _score_name = "val_accuracy"

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``X`` and ``y``; ``classes`` is required on the first call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array of shape (n_classes,), default=None

        Returns
        -------
        self : MLPClassifier
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=SPARSE_FORMATS, multi_output=True,
                             dtype=self._input_dtype(reset), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in "
                    f"the previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                )
            if len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(X.dtype)

    def _output_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_validation_data(self, X_val, y_val, dtype):
        X_val = validate_data(self, X_val, accept_sparse=SPARSE_FORMATS, dtype=dtype, reset=False)
        y_val = column_or_1d(y_val) if np.ndim(y_val) == 2 and np.shape(y_val)[1] == 1 else np.asarray(y_val)
        unknown = np.setdiff1d(unique_labels(y_val), self.classes_)
        if len(unknown):
            raise ValueError(f"validation_data has labels not seen in y: {unknown}.")
        return X_val, self._label_binarizer.transform(y_val).astype(dtype), y_val

    def _targets(self, Y):
        return self._label_binarizer.inverse_transform(Y)

    def _score_validation(self, X, y, Y, weights):
        prob = self._network.forward(X)
        predicted = self._label_binarizer.inverse_transform(prob if prob.shape[1] > 1 else prob.ravel())
        # accuracy_score's, without its checks of y each epoch: multilabel rows must be right entirely
        right = predicted == y
        if right.ndim == 2:
            right = right.all(axis=1)
        return {"val_loss": self._network.output.loss(prob, Y, weights),
                "val_accuracy": float(np.average(right, weights=weights))}

    def predict_proba(self, X):
        """Probability of each class, in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        prob = self._forward(X)
        if self.n_outputs_ == 1:
            prob = prob.ravel()
            return np.vstack([1 - prob, prob]).T
        return prob

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        prob = self.predict_proba(X)
        return np.log(prob, out=prob)

    def predict(self, X):
        """Predicted class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes) for multilabel y
        """
        prob = self._forward(X)
        if self.n_outputs_ == 1:
            prob = prob.ravel()
        return self._label_binarizer.inverse_transform(prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
