"""MLPClassifier: a drop-in superset of ``sklearn.neural_network.MLPClassifier``."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from .base import SPARSE_FORMATS, BaseMLP


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
        A name registered in ``estimators.activations.ACTIVATIONS``, which lists
        the built-in ones ('relu', 'leaky_relu', 'prelu', 'tanh', 'sigmoid' alias
        'logistic' among them) and yours (``register_activation``), or an instance.
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
    validation_scoring : dict of str to callable, default=None
        More scores of ``validation_data`` after every epoch, from the
        probabilities the epoch's ``val_loss`` is computed from (no second
        pass over the rows): ``{name: score}``, each called as
        ``score(y_val, y_proba)`` with the labels as given and
        :meth:`predict_proba`'s columns, its value kept in ``history_`` under
        ``name`` (so a callback sees it), e.g. ``{"val_log_loss": log_loss}``.
        Sample weights are not passed.

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
        with validation data ``val_loss``, ``val_accuracy`` and ``validation_scoring``'s names.
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
        scores = {"val_loss": self._network.output.loss(prob, Y, weights),
                  "val_accuracy": float(np.average(right, weights=weights))}
        if self.validation_scoring:  # from the same probabilities: no second pass over the rows
            scores.update(self._scored(y, prob if self.n_outputs_ > 1 else np.hstack([1 - prob, prob])))
        return scores

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
