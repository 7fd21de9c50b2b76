"""MLPRegressor: a drop-in superset of ``sklearn.neural_network.MLPRegressor``."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from .base import SPARSE_FORMATS, BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor trained by lbfgs, sgd or adam, in NumPy.

    The same engine as :class:`estimators.MLPClassifier`: every parameter of
    ``sklearn.neural_network.MLPRegressor`` keeps its name, meaning and
    default, and the additions (activations, ``slope``, ``prelu_per``,
    ``batch_norm``, ``dropout``, ``jitter``, ``augment``, ``learning_rate='cyclic'``,
    ``weight_init``, ``dtype``, ``callbacks``, ``validation_scoring``) are the classifier's, documented there.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        Half the squared error with an identity output, or half the Poisson
        deviance with an exponential output, as sklearn's.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, slope, prelu_per, batch_norm, \
dropout, jitter, augment, image_shape, cyclic_bounds, cyclic_step_size, weight_init, \
dtype, callbacks, validation_scoring :
        As :class:`estimators.MLPClassifier`'s. Early stopping scores R^2 on
        the validation split (never stratified). ``validation_scoring``'s
        ``y_score`` is what :meth:`predict` gives for the validation rows.

    Attributes
    ----------
    coefs_, intercepts_, n_iter_, t_, loss_, loss_curve_, best_loss_, \
validation_scores_, best_validation_score_, n_features_in_, n_layers_, \
n_outputs_, out_activation_ :
        As sklearn's.
    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss``, ``learning_rate``,
        ``grad_norm_mean``, ``grad_norm_max``, ``prelu_slopes``, ``seconds``,
        and with validation data ``val_loss``, ``val_r2`` and ``validation_scoring``'s names.
    prelu_slopes_ : list of ndarray

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from estimators import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), activation="leaky_relu", slope=0.1,
    ...                    solver="lbfgs", max_iter=300, random_state=0)
    >>> reg.fit(scale(X), scale(y)).score(scale(X), scale(y)) > 0.6
    True
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }
    _score_name = "val_r2"

    def __init__(
        self,
        loss="squared_error",
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
        self.loss = loss
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            slope=slope,
            prelu_per=prelu_per,
            batch_norm=batch_norm,
            dropout=dropout,
            jitter=jitter,
            augment=augment,
            image_shape=image_shape,
            cyclic_bounds=cyclic_bounds,
            cyclic_step_size=cyclic_step_size,
            weight_init=weight_init,
            dtype=dtype,
            callbacks=callbacks,
            validation_scoring=validation_scoring,
        )

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=SPARSE_FORMATS, multi_output=True,
                             y_numeric=True, dtype=self._input_dtype(reset), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, self._as_columns(y, X.dtype)

    @staticmethod
    def _as_columns(y, dtype):
        y = np.asarray(y, dtype=dtype)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_validation_data(self, X_val, y_val, dtype):
        X_val = validate_data(self, X_val, accept_sparse=SPARSE_FORMATS, dtype=dtype, reset=False)
        Y_val = self._as_columns(y_val, dtype)
        if Y_val.shape != (X_val.shape[0], self.n_outputs_) or not np.isfinite(Y_val).all():
            raise ValueError(f"validation_data needs {X_val.shape[0]} finite targets of "
                             f"{self.n_outputs_} output(s), got y of shape {Y_val.shape}")
        return X_val, Y_val, Y_val

    def _targets(self, Y):
        return Y

    def _score_validation(self, X, y, Y, weights):
        predicted = self._network.forward(X)
        finite = bool(np.isfinite(predicted).all())
        # sklearn's score of a non-finite prediction is NaN
        r2 = float(r2_score(Y, predicted, sample_weight=weights)) if finite else float("nan")
        loss = self._network.output.loss(predicted, Y, weights) if finite else float("nan")
        scores = {"val_loss": loss, "val_r2": r2}
        if self.validation_scoring:  # y and predictions as predict gives them: 1-D for one output
            scores.update(self._scored(*(a.ravel() if a.shape[1] == 1 else a for a in (Y, predicted))))
        return scores

    def predict(self, X):
        """Predicted values.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        predicted = self._forward(X)
        return predicted.ravel() if predicted.shape[1] == 1 else predicted
