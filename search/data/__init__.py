"""Datasets for the hyperparameter search, read from local files only.

What lives where:

- :mod:`.dataset`: ``Dataset``, ``load_arrays`` and ``load_dataset``; ``DATASETS``
  and each dataset's task (``default_task``, ``fixed_task``).
- :mod:`.bundled`: the datasets known by name (digits, diabetes, penguins, MNIST,
  Fashion-MNIST, CIFAR-10), where each is looked for, and the OpenML cache fallback.
- :mod:`.memory`: a script's rows in memory (``search.run_study``), read as the table and npz files are.
- :mod:`.formats`: readers of .npz, IDX and CIFAR-10 batch files, and
  ``USER_FORMATS``, the reader of a user's own file by dataset name.
- :mod:`.csvfile`: the csv reader (pandas).
- :mod:`.table`: the table dataset's reader (csv, tsv, Parquet) and its named columns.
- :mod:`.columns`: a table's preprocessing by column kind (``table_preprocessing``) and its MLflow types.
- :mod:`.split`: ``load_dataset``'s options (``SplitOptions``), subsets, the validation split, scaling.
- :mod:`.heldout`: validation and test rows a study chooses itself (``validation``, ``test``): a file, a
  column that marks rows, K folds.
- :mod:`.checks`: ``DataError`` and what read arrays must be.
- :mod:`.preprocessing`: the fitted scaling steps that the registered model keeps.

This package knows nothing of studies: a task reaches it as a plain string.
"""

from .checks import DataError
from .columns import table_preprocessing
from .dataset import (DATASETS, REGRESSION_DATASETS, TASK_NAMES, USER_DATASETS, Dataset, default_task,
                      fixed_task, load_arrays, load_dataset)
from .split import SCALINGS

__all__ = ["DATASETS", "REGRESSION_DATASETS", "SCALINGS", "TASK_NAMES", "USER_DATASETS", "DataError",
           "Dataset", "default_task", "fixed_task", "load_arrays", "load_dataset", "table_preprocessing"]
