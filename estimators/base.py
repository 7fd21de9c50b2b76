"""The base of the multi-layer perceptrons: what MLPClassifier and MLPRegressor share.

:class:`BaseMLP` holds the parameters, input checks, the network, L-BFGS
(estimators.lbfgs), the history and prediction's forward pass; sgd and adam's
per-batch training is its mixin (estimators.stochastic). It is abstract, as
sklearn's ``BaseMultilayerPerceptron``: a subclass (estimators.classifier,
estimators.regressor) gives how targets are checked, encoded and scored, the
output layer, and ``predict``.
"""

import time
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import lbfgs
from .activations import ACTIVATIONS, Activation
from .augment import check_augment
from .exceptions import DivergenceError
from .layers import init_weights
from .network import Network
from .stochastic import StochasticTrainingMixin

SPARSE_FORMATS = ["csr", "csc"]


def _trainable(array, dtype):
    """``array`` itself when it can be trained in place, else a copy that can."""
    return np.require(np.asarray(array, dtype=dtype), requirements=["C", "W"])


class BaseMLP(StochasticTrainingMixin, BaseEstimator, ABC):
    """What MLPClassifier and MLPRegressor share; use one of them.

    A subclass gives the abstract methods below: the base calls them while
    fitting, and ``predict`` is what sklearn's mixins score with.
    """

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
        "validation_scoring": [None, dict],
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
        validation_scoring=None,
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
        self.validation_scoring = validation_scoring

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

    def _diverged(self, what, epoch):
        activation = self.activation if isinstance(self.activation, str) else repr(self.activation)
        raise DivergenceError(
            f"Training diverged at epoch {epoch}: {what} "
            f"(activation={activation!r}, slope={self.slope}, solver={self.solver!r}, "
            f"learning_rate_init={self.learning_rate_init}). Lower the learning rate or the slope. "
            "Solver produced non-finite parameter weights. The input data may contain large "
            "values and need to be preprocessed."
        )

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
        self.__dict__.setdefault("validation_scoring", None)  # pickled before it existed
        if hasattr(self, "_optimizer") and hasattr(self, "_network"):
            self._optimizer.params = self._network.params  # as the network's (joblib)

    def _scored(self, y, y_score):
        """``validation_scoring``'s entries of a validation record: each ``score(y, y_score)``, NaN for a
        non-finite ``y_score`` (sklearn's metrics refuse it; the divergence check says more)."""
        finite = bool(np.isfinite(y_score).all())
        return {name: float(score(y, y_score)) if finite else float("nan")
                for name, score in (self.validation_scoring or {}).items()}

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

    # ------------------------------------------------------------ subclass

    @abstractmethod
    def _validate_input(self, X, y, incremental, reset):
        """``(X, Y)`` checked: ``Y`` is ``y`` as the network's 2-D targets, in X's dtype."""

    @abstractmethod
    def _output_activation(self):
        """The name of the output layer and its loss, a key of ``estimators.layers.OUTPUTS``."""

    @abstractmethod
    def _validate_validation_data(self, X_val, y_val, dtype):
        """``validation_data`` checked: ``(X_val, Y_val, y_val)``, the targets encoded and as given."""

    @abstractmethod
    def _targets(self, Y):
        """The targets as given to ``fit``, decoded from the network's ``Y``."""

    @abstractmethod
    def _score_validation(self, X, y, Y, weights):
        """The network's ``{"val_loss": ..., self._score_name: ...}`` on validation data."""

    @abstractmethod
    def predict(self, X):
        """The prediction for each row of ``X``."""
