"""A table's preprocessing: each column by its kind, one fitted ``ColumnTransformer`` inside the champion.

Numeric columns get a median for a missing value, with a column that marks
it, then scaling; categorical columns (strings, booleans, pandas categories
and integer codes named ``categorical``) are one-hot encoded, a missing value
being a category of its own and a rare or unseen one the "infrequent" column.
A datetime or free-text column has no encoding that helps an MLP: it is
refused by name, pointing at ``dataset.drop``.

:func:`table_preprocessing` is public (``search.table_preprocessing``): a
scripting user puts it in front of an estimator in a ``Pipeline`` of their own.
"""

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from .checks import DataError

MISSING = "<missing>"  # the category a missing value becomes
# A text column with more distinct values than this, and than half its rows, is free text (or an id, or a date).
FREE_TEXT_DISTINCT = 50
MIN_FREQUENCY = 5  # rarer categories share the encoder's "infrequent" column, where unseen ones go too


class CategoryText(TransformerMixin, BaseEstimator):
    """Categorical columns as text: a missing value as ``MISSING``, an integer code (also as 3.0) as '3'.

    One spelling per category whatever dtype the rows come in (a code column
    with a null is read as floats; a boolean with a null as objects), so that
    the one-hot encoder sees the categories it was fitted on.
    """

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def get_feature_names_out(self, input_features=None):
        """The column names, unchanged: one text column per column."""
        if input_features is None:
            input_features = [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray(input_features, dtype=object)

    def transform(self, X):
        frame = pd.DataFrame(X)
        return np.column_stack([[_category(value) for value in frame.iloc[:, i]]
                                for i in range(frame.shape[1])]).astype(object)


def _category(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def column_kinds(X, categorical=()):
    """``(numeric, categorical)`` column names of the DataFrame ``X``; refuses a date or free text by name.

    Parameters
    ----------
    X : pandas.DataFrame
    categorical : sequence of str
        Numeric columns that are codes of categories (a zip code, a product id).
    """
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"table_preprocessing takes a pandas DataFrame, got {type(X).__name__}")
    unknown = [name for name in categorical if name not in X.columns]
    if unknown:
        raise DataError(f"categorical: {unknown[0]!r} is not a column (columns: {', '.join(map(str, X.columns))})")
    numeric, categories = [], []
    for name in X.columns:
        column = X[name]
        if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
            raise DataError(f"column {name!r} is a date or time ({column.dtype}); drop it with "
                            f"dataset.drop: [{name}], or add numeric columns made from it")
        if name in categorical or not _is_number(column):
            _check_not_free_text(name, column)
            categories.append(name)
        else:
            numeric.append(name)
    return numeric, categories


def _is_number(column):
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _check_not_free_text(name, column):
    distinct = column.nunique(dropna=True)
    if distinct > FREE_TEXT_DISTINCT and distinct > column.notna().sum() / 2:
        raise DataError(f"column {name!r} looks like free text, an id or a date ({distinct} distinct values in "
                        f"{column.notna().sum()} rows); drop it with dataset.drop: [{name}]")


def table_preprocessing(X, categorical=(), scaler="standard", min_frequency=MIN_FREQUENCY):
    """An unfitted ``ColumnTransformer`` for the columns of the DataFrame ``X``.

    Parameters
    ----------
    X : pandas.DataFrame
        Rows with the columns the model will take (their names, dtypes and distinct values are read).
    categorical : sequence of str, default=()
        Integer-coded columns to one-hot encode rather than scale.
    scaler : {'standard', 'minmax', 'none'}, default='standard'
        How numeric columns are scaled after imputation.
    min_frequency : int or float, default=5
        Categories seen fewer times (or in a smaller share of rows) than this share one "infrequent"
        column, as any category unseen in training does.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        ``numeric``: median imputation with missing-value indicators, then ``scaler``; ``categorical``:
        missing values as a category, then one-hot. Dense output.

    Raises
    ------
    DataError
        For a ``categorical`` name that ``X`` lacks, a date or a free-text column.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"city": ["paris", None, "lyon"], "income": [1.0, None, 3.0]})
    >>> list(table_preprocessing(X, min_frequency=1).fit(X).get_feature_names_out())
    ['income', 'missingindicator_income', 'city_<missing>', 'city_lyon', 'city_paris']
    """
    numeric, categories = column_kinds(X, categorical)
    return ColumnTransformer([("numeric", _numeric_steps(scaler), numeric),
                              ("categorical", _category_steps(min_frequency), categories)],
                             sparse_threshold=0, verbose_feature_names_out=False)


def _numeric_steps(scaler):
    """The median for a missing value, with a column marking it, then ``scaler`` (a name in ``SCALERS``)."""
    from .preprocessing import SCALERS  # preprocessing describes these steps: it imports this module

    return Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", SCALERS[scaler]())])


def _category_steps(min_frequency):
    """Categories as text, a missing value one of them, then one-hot with rare and unseen ones together."""
    one_hot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_frequency,
                            sparse_output=False, dtype=np.float32)
    return Pipeline([("text", CategoryText()), ("one_hot", one_hot)])


def describe_columns(transformer):
    """The transformer in a few words, e.g. '2 numeric columns (median, indicator, StandardScaler), 1 categorical
    (one-hot)'."""
    numeric, categories = (next(cols for name, _, cols in transformer.transformers if name == kind)
                           for kind in ("numeric", "categorical"))
    scaler = transformer.transformers[0][1].steps[-1][1]
    scaled = "" if scaler == "passthrough" else f", {type(scaler).__name__}"
    return (f"{len(numeric)} numeric columns (median imputation with missing-value indicators{scaled}), "
            f"{len(categories)} categorical columns (one-hot; missing, rare and unseen categories handled)")


def schema_types(X):
    """MLflow's type of each column of the DataFrame ``X``: 'long', 'double', 'boolean' or 'string'.

    As MLflow infers them from the training rows: an integer column is a long
    (a frame read by pandas has int64 there), a column with a null a double.
    """
    types = {}
    for name in X.columns:
        column = X[name]
        values = column.dropna()
        if pd.api.types.is_bool_dtype(column) or (len(values) and all(isinstance(v, (bool, np.bool_))
                                                                      for v in values)):
            types[name] = "boolean"
        elif pd.api.types.is_integer_dtype(column):
            types[name] = "long"
        elif pd.api.types.is_numeric_dtype(column):
            types[name] = "double"
        else:
            types[name] = "string"
    return types
