"""The errors of the estimators, as ``sklearn.exceptions`` holds sklearn's."""


class DivergenceError(ArithmeticError, ValueError):
    """Training produced a non-finite loss or non-finite parameters.

    A ``ValueError`` too, as sklearn's error for non-finite weights. Its
    ``history`` attribute holds the epochs recorded before it happened.
    """

    history = ()
