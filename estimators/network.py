"""The network: a list of layers built once, and a loss on top.

Batch norm before or after the activation is only the order of that list, so
``forward`` and ``backward`` are straight loops with no branching.
"""

import numpy as np

from .activations import FusedActivation, PReLU, make_activation
from .layers import OUTPUTS, BatchNorm, Dense, Dropout


def hidden_block(units, activation, *, slope, prelu_per, batch_norm, dropout, dtype, rng):
    """The layers that follow a hidden Dense layer, in order."""
    act = make_activation(activation, slope=slope, prelu_per=prelu_per)
    act.build(units, dtype)
    block = {
        None: [act],
        "before": [BatchNorm(units, dtype), act],
        "after": [act, BatchNorm(units, dtype)],
    }[batch_norm]
    if dropout > 0:
        block.append(Dropout(dropout, rng))
    return block


class Network:
    """A feed-forward network over shared ``coefs`` and ``intercepts`` arrays.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        Weights per Dense layer; the network trains them in place.
    output : {'softmax', 'logistic', 'identity', 'exp'}
        The output activation, with its matching log loss.
    activation, slope, prelu_per, batch_norm, dropout :
        As the estimator's parameters of the same names.
    rng : numpy.random.Generator
        Source of dropout masks.
    """

    def __init__(self, coefs, intercepts, output, activation="relu", *, slope=0.01,
                 prelu_per="layer", batch_norm=None, dropout=0.0, rng=None):
        dtype = coefs[0].dtype
        last = len(coefs) - 1
        self.dense = [
            Dense(coef, intercept, input_grad=i > 0,
                  train_intercept=i == last or batch_norm != "before")
            for i, (coef, intercept) in enumerate(zip(coefs, intercepts))
        ]
        self.layers = []
        for dense in self.dense[:-1]:
            self.layers.append(dense)
            self.layers += hidden_block(dense.coef.shape[1], activation, slope=slope,
                                        prelu_per=prelu_per, batch_norm=batch_norm,
                                        dropout=dropout, dtype=dtype, rng=rng)
        self.layers.append(self.dense[-1])
        self.output = OUTPUTS[output]()
        self.params = [p for layer in self.layers for p in layer.params]
        self.grads = [g for layer in self.layers for g in layer.grads]
        self._hand_biases_on()

    def __setstate__(self, state):
        self.__dict__.update(state)  # the layers' arrays, linked again (see Dense.__setstate__)
        self.params = [p for layer in self.layers for p in layer.params]
        self.grads = [g for layer in self.layers for g in layer.grads]
        self._hand_biases_on()  # networks pickled before the activations added the biases

    def _hand_biases_on(self):
        """Each Dense layer right before a built-in activation leaves its bias to it (one pass less)."""
        for layer, after in zip(self.layers, self.layers[1:]):
            if isinstance(layer, Dense) and isinstance(after, FusedActivation):
                layer.bias_later, after.bias_of = True, layer

    def forward(self, X, training=False):
        """The output (class probabilities, or predicted values) for ``X``."""
        for layer in self.layers:
            X = layer.forward(X, training)
        return self.output.forward(X)

    def loss(self, X, Y, alpha=0.0, sample_weight=None):
        """Training loss of a batch (with L2), and the output probabilities.

        The penalty is sklearn's: ``0.5 * alpha * sum(W**2) / n_samples``, where
        ``n_samples`` is the sum of the sample weights when there are some.
        """
        prob = self.forward(X, training=True)
        loss = self.output.loss(prob, Y, sample_weight)
        if alpha:
            loss += 0.5 * alpha * self.squared_weight_norm() / _weight_sum(X, sample_weight)
        return loss, prob

    def objective(self, X, Y, alpha=0.0, sample_weight=None):
        """The function whose gradient :meth:`loss_and_gradients` gives (its loss, but for
        several squared-error outputs: see layers.IdentitySquaredError)."""
        prob = self.forward(X, training=True)
        value = self.output.objective(prob, Y, sample_weight)
        if alpha:
            value += 0.5 * alpha * self.squared_weight_norm() / _weight_sum(X, sample_weight)
        return value

    def loss_and_gradients(self, X, Y, alpha=0.0, sample_weight=None):
        """:meth:`loss` and the number of rows predicted right, with the gradients in ``self.grads``.

        The count costs nothing extra (the probabilities are at hand) and
        gives the training accuracy as Keras reports it: over the epoch's batches.
        """
        loss, prob = self.loss(X, Y, alpha, sample_weight)
        correct = self.output.correct(prob, Y)
        weight_sum = _weight_sum(X, sample_weight)
        if prob.dtype == np.float64:
            self._sklearn_order_gradients(prob, Y, alpha, sample_weight, weight_sum)
            return loss, correct
        grad = self.output.backward(prob, Y, sample_weight, weight_sum)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        if alpha:
            for dense in self.dense:
                dense.add_weight_decay(alpha / weight_sum)
        return loss, correct

    def data_loss_and_gradients(self, X, Y, sample_weight=None):
        """:meth:`loss_and_gradients` without the L2 penalty, for a solver that adds it in its step.

        Returns the loss of the data term, the rows predicted right and the
        sum of the sample weights (the batch size without them). With
        :meth:`penalty_scales` the gradient of each array is ``(grad + decay * coef) / divisor``
        (Dense weights), ``grad / divisor`` (the others): float64 divides
        last, as sklearn (see :meth:`_sklearn_order_gradients`).
        """
        prob = self.forward(X, training=True)
        loss = self.output.loss(prob, Y, sample_weight)
        correct = self.output.correct(prob, Y)
        weight_sum = _weight_sum(X, sample_weight)
        grad = self.output.backward(prob, Y, sample_weight, 1.0 if prob.dtype == np.float64 else weight_sum)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return loss, correct, weight_sum

    def penalty_scales(self, alpha, weight_sum):
        """``(decay, divisor)`` that complete :meth:`data_loss_and_gradients`'s gradients."""
        if self.dense[0].coef.dtype == np.float64:
            return alpha, weight_sum
        return alpha / weight_sum, 1.0

    def decayed_indices(self):
        """The indices in ``params`` of the arrays weight decay applies to: the Dense weights."""
        coefs = [id(dense.coef) for dense in self.dense]
        return [i for i, param in enumerate(self.params) if id(param) in coefs]

    def _sklearn_order_gradients(self, prob, Y, alpha, sample_weight, weight_sum):
        """The same gradients in sklearn's order of operations, to its last bit.

        sklearn divides by the number of samples last, after adding
        ``alpha * coef``; float64 follows it (with the same BLAS calls) so that
        training reproduces sklearn's exactly, which L-BFGS's line searches
        need over many iterations. float32 keeps the cheaper order.
        """
        grad = self.output.backward(prob, Y, sample_weight, 1.0)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        for dense in self.dense:
            dense.coef_grad += alpha * dense.coef
        for array in self.grads:
            array /= weight_sum

    def use_weights(self, coefs, intercepts):
        """Train and predict with these arrays (of the current shapes) from now on."""
        for dense, coef, intercept in zip(self.dense, coefs, intercepts):
            dense.coef, dense.intercept = coef, intercept
            dense.params = (coef, intercept)[:len(dense.params)]
        self.params = [p for layer in self.layers for p in layer.params]

    def named_parameters(self):
        """``(name, param, grad)`` for every trained array: coef_0, gamma_1, slope_0..."""
        seen = {}  # layers of each kind so far: a Dense layer's coef and intercept share its index
        for layer in self.layers:
            if layer.param_names:
                index = seen[type(layer)] = seen.get(type(layer), -1) + 1
            elif isinstance(layer, Dense):
                seen[Dense] = seen.get(Dense, -1) + 1
            for name, param, grad in zip(layer.param_names, layer.params, layer.grads):
                yield f"{name}_{index}", param, grad

    def squared_weight_norm(self):
        return sum(float(np.dot(d.coef.ravel(), d.coef.ravel())) for d in self.dense)

    def prelu_slopes(self):
        """The learned slopes of each PReLU layer (a copy)."""
        return [layer.slopes.copy() for layer in self.layers if isinstance(layer, PReLU)]

    def state(self):
        """Every learned array, trained or running statistic."""
        return self.params + [s for layer in self.layers for s in getattr(layer, "state", ())]

    def snapshot(self):
        return [array.copy() for array in self.state()]

    def restore(self, snapshot):
        for array, saved in zip(self.state(), snapshot):
            array[...] = saved

    def is_finite(self):
        return all(np.isfinite(array).all() for array in self.state())

    def release_buffers(self):
        """Drop per-batch caches so a fitted model pickles small."""
        for layer in self.layers:
            if hasattr(layer, "buffers"):
                layer.buffers.clear()
            for name in [n for n in vars(layer) if n.startswith("_")]:
                delattr(layer, name)


def _weight_sum(X, sample_weight):
    return X.shape[0] if sample_weight is None else float(sample_weight.sum())
