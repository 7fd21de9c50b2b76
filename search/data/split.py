"""How ``load_dataset`` cuts the rows: its options, subsets, the validation split, the folds and scaling.

Every split is scikit-learn's ``train_test_split`` with a fixed random state,
stratified for a classification whenever every class allows it, and folds are
its ``StratifiedKFold`` (``KFold`` for a regression), shuffled with that state,
so the same options give the same rows on every machine.
"""

import math
import numbers
from dataclasses import dataclass, fields

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from .checks import DataError, one_line
from .preprocessing import SCALERS

SCALINGS = tuple(SCALERS)
USER_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class SplitOptions:
    """The options of ``load_dataset`` that say which rows it keeps, how it splits them and scales them.

    Checked when made: a bad value is a one-line :class:`DataError`.

    Attributes
    ----------
    validation_fraction : float, default 0.1
        Share of the (subset of) training rows held out for validation,
        stratified; 0 gives an empty validation set.
    validation_size : int, optional
        Number of validation rows; takes precedence over ``validation_fraction``.
    subset : int, optional
        Keep at most this many training rows, a stratified random sample.
    test_subset : int, optional
        Keep at most this many test rows, a stratified random sample.
    scaling : {'standard', 'minmax', 'zca', 'none'}, default 'standard'
        Features scaled by a ``StandardScaler``, a clipping ``MinMaxScaler`` or
        ZCA whitening (:class:`search.data.preprocessing.ZCA`) fitted on the
        training rows only, or left as read.
    random_state : int, default 0
        Seed for the subsets and the validation split.
    """

    validation_fraction: float = 0.1
    validation_size: int | None = None
    subset: int | None = None
    test_subset: int | None = None
    scaling: str = "standard"
    random_state: int = 0

    @classmethod
    def of(cls, options):
        """The options from a mapping of keyword arguments, refusing a name it does not know."""
        names = [option.name for option in fields(cls)]
        unknown = [option for option in options if option not in names]
        if unknown:
            raise DataError(f"unknown dataset option {unknown[0]!r}; use one of {', '.join(names)}")
        return cls(**options)

    def __post_init__(self):
        if not (isinstance(self.validation_fraction, numbers.Real) and 0 <= self.validation_fraction < 1):
            raise DataError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        _check_count("validation_size", self.validation_size, minimum=0)
        _check_count("subset", self.subset, minimum=1)
        _check_count("test_subset", self.test_subset, minimum=1)
        if self.scaling not in SCALINGS:
            raise DataError(f"unknown scaling {self.scaling!r}; use one of {', '.join(SCALINGS)}")

    def validation_count(self, n_train, name):
        """Number of validation rows: ``validation_size`` if given, else the fraction of ``n_train``."""
        n_val = (self.validation_size if self.validation_size is not None
                 else math.ceil(self.validation_fraction * n_train))
        if n_val >= n_train:
            raise DataError(f"{name} has {n_train} training rows, too few to hold out {n_val} for "
                            "validation; lower validation_size or validation_fraction")
        return n_val


def _check_count(argument, value, minimum):
    """``value`` is None or an integer of at least ``minimum``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DataError(f"{argument} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class Splitter:
    """Holds rows out of one dataset's arrays, the same way every time.

    Attributes
    ----------
    random_state : int
    what : str
        The dataset, as error messages name it.
    stratify : bool
        Whether to keep the class proportions (a classification), where every class allows it.
    """

    random_state: int
    what: str
    stratify: bool = True

    def hold_out(self, X, y, n_held_out):
        """``X_kept, X_held_out, y_kept, y_held_out`` as ``train_test_split`` returns them."""
        try:
            if self.stratify:
                return train_test_split(X, y, test_size=n_held_out, stratify=y, random_state=self.random_state)
        except ValueError:
            pass  # a class too small to stratify; an unstratified split still works
        try:
            return train_test_split(X, y, test_size=n_held_out, random_state=self.random_state)
        except ValueError as error:
            raise DataError(f"cannot hold out {n_held_out} of the {len(y)} rows of {self.what}: "
                            f"{one_line(error)}") from error

    def sample(self, X, y, count):
        """A (stratified) random sample of at most ``count`` rows; all of them when ``count`` is None."""
        if count is None or count >= len(y):
            return X, y
        X_kept, _, y_kept, _ = self.hold_out(X, y, len(y) - count)
        return X_kept, y_kept

    def folds(self, y, n_folds):
        """``n_folds`` pairs of (training, validation) row indices into ``y``: stratified for classes.

        Every class needs ``n_folds`` rows: one in each fold's validation rows, and the rest to train on, so
        that no fold validates on a class its training rows lack.
        """
        if n_folds > len(y):
            raise DataError(f"{self.what} has {len(y)} training rows, too few for {n_folds} folds")
        if not self.stratify:
            return tuple(KFold(n_folds, shuffle=True, random_state=self.random_state).split(y))
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < n_folds:
            raise DataError(f"class {classes[counts.argmin()].item()!r} of {self.what} has {counts.min()} training "
                            f"rows, fewer than the {n_folds} folds; lower folds")
        return tuple(StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state).split(y, y))

    def validation(self, X, y, n_val):
        """Training and validation rows; an empty validation set when ``n_val`` is 0."""
        if n_val == 0:
            return X, y, X[:0], y[:0]
        X_train, X_val, y_train, y_val = self.hold_out(X, y, n_val)
        return X_train, y_train, X_val, y_val


def split_off_test(X, y, path, stratify=True, fraction=USER_TEST_FRACTION):
    """A fixed (for classes, stratified) test split for a user's file that comes without one."""
    splitter = Splitter(random_state=0, what=str(path), stratify=stratify)
    X_train, X_test, y_train, y_test = splitter.hold_out(X, y, math.ceil(fraction * len(y)))
    return X_train, y_train, X_test, y_test


def scale(preprocessing, X_train, *splits):
    """Every split through the fitted ``preprocessing``, as float32 arrays."""
    X_train = preprocessing.transform(X_train).astype(np.float32, copy=False)
    # transform rejects zero rows, and an empty validation set needs no scaling
    return (X_train, *(preprocessing.transform(X).astype(np.float32, copy=False) if len(X)
                       else np.empty((0, X_train.shape[1]), dtype=np.float32) for X in splits))
