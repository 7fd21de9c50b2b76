"""The study-file checker: the raw YAML mapping, one key at a time, to a study's fields.

Every problem is a :class:`StudyFileError` whose message is one line naming
the file and the key. The samplers and pruners are built here once, through
the factories that run them (:mod:`search.study.samplers`), so that an option
one refuses fails before anything runs.
"""

import inspect
import math
import warnings
from numbers import Real

from sklearn.utils._param_validation import InvalidParameterError

from estimators.augment import AUGMENT_KEYS, check_augment

from ..data import DATASETS, SCALINGS, DataError, default_task, fixed_task
from ..data.heldout import FORMS as HELD_OUT
from ..data.heldout import HeldOut
from .samplers import PRUNERS, SAMPLERS, make_pruner, make_sampler
from .space import AUGMENT_PREFIX, Categorical, Range, SearchSpace
from .stages import STAGE_KEYS, Stage, default_narrowing
from .timeplan import seconds_of
from .task import TASKS

# Study-level names that stand for estimator parameters: lambda is the
# seeds' per-sample L2 coefficient (alpha = 2 * batch_size * lambda); depth
# and width build hidden_layer_sizes; augment_<key> is one entry of augment.
AUGMENT_PARAMS = {AUGMENT_PREFIX + key for key in AUGMENT_KEYS}
DERIVED_PARAMS = {"lambda", "depth", "width"} | AUGMENT_PARAMS

TOP_KEYS = {
    "name", "description", "dataset", "estimator", "space", "objective", "epochs",
    "repeats", "seeds", "n_trials", "timeout", "sampler", "pruner", "stages",
    "register", "artifacts", "task", "baselines", "budget",
}
TABLE_KEYS = ("target", "features", "drop", "categorical")  # the table dataset's columns
DATASET_KEYS = {"name", "path", "validation_fraction", "validation_size", "subset",
                "test_subset", "scaling", "random_state", *TABLE_KEYS, *HELD_OUT}


class StudyFileError(ValueError):
    """A study file that cannot be used; the message is one line."""


class Checker:
    """Turns the raw mapping into a StudySpec's fields, one key at a time; then checks the built spec."""

    task = TASKS["classification"]  # the study's, once ``fields`` has read it

    def __init__(self, path):
        self.path = path

    def fail(self, key, message):
        raise StudyFileError(f"{self.path}: {key}: {message}")

    def fields(self, raw):
        """The keyword arguments of :class:`search.study.file.StudySpec`, checked; ``text`` aside."""
        self.unknown_keys(raw, TOP_KEYS, "")
        name = raw.get("name", self.path.stem)
        if not isinstance(name, str) or not name.strip():
            self.fail("name", f"must be a non-empty string, got {name!r}")
        dataset = self.dataset(raw.get("dataset"))
        self.task = self.study_task(raw.get("task"), dataset["name"])
        metric, direction = self.objective(raw.get("objective", {}))
        epochs = self.integer(raw.get("epochs", 20), "epochs", minimum=1)
        repeats = self.integer(raw.get("repeats", 1), "repeats", minimum=1)
        estimator = self.estimator(raw.get("estimator") or {})
        space = self.space(raw.get("space") or {}, estimator)
        return dict(
            name=name,
            path=self.path,
            dataset=dataset,
            estimator=estimator,
            space=space,
            metric=metric,
            direction=direction,
            task=self.task.name,
            epochs=epochs,
            repeats=repeats,
            seeds=self.seeds(raw.get("seeds"), repeats),
            **self.trials(raw, estimator),
            sampler=self.named_option(raw.get("sampler", "tpe"), "sampler", SAMPLERS),
            pruner=self.named_option(raw.get("pruner", "median"), "pruner", PRUNERS),
            register=self.register(raw.get("register", True), name),
            artifacts=self.mapping(raw.get("artifacts") or {}, "artifacts"),
            baselines=self.boolean(raw.get("baselines", True), "baselines"),
            description=str(raw.get("description", "")),
        )

    def builds(self, spec):
        """Build every stage's sampler and the pruner now: options they refuse fail here, not mid-study.

        They are built by :mod:`search.study.samplers`' factories, the ones that run them.
        """
        for key, options, registry in (("sampler", spec.sampler, SAMPLERS), ("pruner", spec.pruner, PRUNERS)):
            self.known_options(key, options, registry[options["name"]])
        for key, options, build in [("pruner", spec.pruner, lambda: make_pruner(spec))] + [
                (f"stages[{i}].sampler" if stage.sampler else "sampler", spec.sampler,
                 lambda i=i: make_sampler(spec, i)) for i, stage in enumerate(spec.stages)]:
            if options.get("seed") is not None and not _is_int(options["seed"]):
                self.fail(f"{key}.seed", f"must be an integer, got {options['seed']!r}")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # experimental samplers: not the user's concern here
                    built = build()
            except (TypeError, ValueError) as error:
                self.fail(key, " ".join(str(error).split()))
            parameters = inspect.signature(type(built)).parameters
            for option, value in options.items():
                if option in parameters:
                    self.option_type(f"{key}.{option}", value, parameters[option].default)

    def known_options(self, key, options, factory):
        """Refuse an option the sampler or pruner does not take, naming it and those it takes."""
        refused = factory.refused(options)
        if refused:
            self.fail(key, f"the {options['name']} {key} takes no option {refused[0]!r} "
                           f"(it takes {', '.join(sorted(factory.options())) or 'none'})")

    def option_type(self, key, value, default):
        """Refuse an option whose default in the sampler's or pruner's signature is of another type."""
        kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}.get(type(default))
        if kinds and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            self.fail(key, f"must be {type(default).__name__}, got {value!r}")

    # ---------------------------------------------------------------- parts

    def unknown_keys(self, mapping, allowed, prefix):
        for key in mapping:
            if key not in allowed:
                where = f"{prefix}{key}"
                self.fail(where, f"unknown key (expected one of {', '.join(sorted(allowed))})")

    def mapping(self, value, key):
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, got {value!r}")
        return value

    def integer(self, value, key, minimum):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"must be an integer >= {minimum}, got {value!r}")
        return value

    def boolean(self, value, key):
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {value!r}")
        return value

    def number(self, value, key):
        """A float; YAML 1.1 reads 1e-6 as a string, so numeric strings count."""
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                self.fail(key, f"must be a number, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            self.fail(key, f"must be a finite number, got {value!r}")
        return value

    def objective(self, raw):
        if isinstance(raw, str):
            raw = {"metric": raw}
        raw = self.mapping(raw, "objective")
        self.unknown_keys(raw, {"metric", "direction"}, "objective.")
        metric = raw.get("metric", self.task.default_metric)
        if metric not in self.task.metrics:
            other = next((t.name for t in TASKS.values() if metric in t.metrics), None)
            why = f" ({metric} is for {other}; set task: {other})" if other else ""
            self.fail("objective.metric", f"a {self.task.name} study's objective is one of "
                      f"{', '.join(self.task.metrics)}, got {metric!r}{why}")
        direction = raw.get("direction", self.task.metrics[metric])
        if direction not in ("maximize", "minimize"):
            self.fail("objective.direction", f"must be maximize or minimize, got {direction!r}")
        return metric, direction

    def study_task(self, raw, dataset_name):
        """The ``task`` key, by default the dataset's own (``search.data.default_task``)."""
        name = default_task(dataset_name) if raw is None else raw
        if not isinstance(name, str) or name not in TASKS:
            self.fail("task", f"must be one of {', '.join(TASKS)}, got {name!r}")
        natural = fixed_task(dataset_name)
        if natural not in (None, name):
            self.fail("task", f"{dataset_name} is a {natural} dataset; a {name} study needs "
                      "your own file (dataset npz, csv or table)")
        return TASKS[name]

    def dataset(self, raw):
        if raw is None:
            raw = {"name": "digits"}
        if isinstance(raw, str):
            raw = {"name": raw}
        raw = self.mapping(raw, "dataset")
        self.unknown_keys(raw, DATASET_KEYS, "dataset.")
        name = raw.get("name", "digits")
        if name not in DATASETS:
            self.fail("dataset.name", f"unknown dataset {name!r} (expected one of {', '.join(DATASETS)})")
        if raw.get("scaling", "standard") not in SCALINGS:
            self.fail("dataset.scaling", f"must be one of {', '.join(SCALINGS)}, got {raw['scaling']!r}")
        if raw.get("path") is not None and not isinstance(raw["path"], str):
            self.fail("dataset.path", f"must be a string, got {raw['path']!r}")
        fraction = self.number(raw.get("validation_fraction", 0.1), "dataset.validation_fraction")
        if not 0 < fraction < 1:
            self.fail("dataset.validation_fraction", f"must be in (0, 1), got {fraction!r}")
        if "validation_fraction" in raw:
            raw = dict(raw, validation_fraction=fraction)  # '1e-1' (YAML 1.1) as a number
        for key in ("validation_size", "subset", "test_subset"):
            if raw.get(key) is not None:
                self.integer(raw[key], f"dataset.{key}", minimum=1)
        self.table_columns(raw, name)
        try:  # the rows a study chooses itself: the data layer's own check, before anything runs
            HeldOut.of({key: raw[key] for key in HELD_OUT if key in raw}, name, tuple(raw))
        except DataError as error:
            raise StudyFileError(f"{self.path}: dataset.{error}") from None
        return dict(raw, name=name)

    def table_columns(self, raw, name):
        """The table dataset's ``target`` (a column name), ``features`` or ``drop`` and ``categorical`` (lists of
        them); no other dataset takes them."""
        given = [key for key in TABLE_KEYS if key in raw]
        if name != "table":
            if given:
                self.fail(f"dataset.{given[0]}", f"only the table dataset takes {', '.join(TABLE_KEYS)}")
            return
        if not isinstance(raw.get("target"), str) or not raw["target"].strip():
            self.fail("dataset.target", f"the table dataset needs the name of the column to predict, got "
                      f"{raw.get('target')!r}")
        if "features" in raw and "drop" in raw:
            self.fail("dataset.features", "give features or drop, not both")
        for key in ("features", "drop", "categorical"):
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                self.fail(f"dataset.{key}", f"must be a list of column names, got {value!r}")

    def estimator(self, raw):
        raw = dict(self.mapping(raw, "estimator"))
        self.unknown_keys(raw, self.task.params | {"lambda"}, "estimator.")
        if "lambda" in raw and "alpha" in raw:
            self.fail("estimator.lambda", "give lambda or alpha, not both")
        if "lambda" in raw:
            raw["lambda"] = self.number(raw["lambda"], "estimator.lambda")
        for key in ("hidden_layer_sizes", "cyclic_bounds", "image_shape"):
            if isinstance(raw.get(key), list):
                raw[key] = tuple(raw[key])
        if isinstance(raw.get("cyclic_bounds"), tuple):  # YAML 1.1 reads [1e-5, 1e-1] as strings
            raw["cyclic_bounds"] = tuple(self.number(b, "estimator.cyclic_bounds") if isinstance(b, str) else b
                                         for b in raw["cyclic_bounds"])
        if "lambda" in raw and raw["lambda"] < 0:
            self.fail("estimator.lambda", f"must be >= 0, got {raw['lambda']!r}")
        if "hidden_layer_sizes" in raw:
            self.layer_sizes(raw["hidden_layer_sizes"], "estimator.hidden_layer_sizes")
        fixed = {k: v for k, v in raw.items() if k != "lambda"}
        self.check_params(fixed, "estimator")
        raw.update(fixed)  # with numeric strings ('1e-3') as numbers
        return raw

    def check_params(self, params, where):
        """Let the estimator's own constraints judge the values."""
        numeric = {k: (self.number(v, f"{where}.{k}") if isinstance(v, str) and _looks_numeric(v) else v)
                   for k, v in params.items()}
        try:
            estimator = self.task.estimator(**numeric)
            estimator._validate_params()
            estimator._check_added_params()
        except InvalidParameterError as error:
            key = next((k for k in params if f"'{k}'" in str(error)), next(iter(params), "?"))
            self.fail(f"{where}.{key}", str(error).splitlines()[0])
        params.update(numeric)

    def space(self, raw, estimator):
        raw = self.mapping(raw, "space")
        params = {}
        for key, spec in raw.items():
            if key not in self.task.params | DERIVED_PARAMS:
                self.fail(f"space.{key}", f"unknown parameter (an {self.task.estimator.__name__} parameter, "
                          "lambda, depth, width or augment_<key>)")
            if key in estimator or (key in AUGMENT_PARAMS
                                    and key[len(AUGMENT_PREFIX):] in (estimator.get("augment") or {})):
                self.fail(f"space.{key}", "is also fixed under estimator: give it in one place")
            params[key] = self.dimension(key, self.mapping(spec, f"space.{key}"))
        if ("depth" in params) != ("width" in params) and "hidden_layer_sizes" not in estimator:
            missing = "width" if "depth" in params else "depth"
            self.fail(f"space.{missing}", "depth and width are searched together "
                      "(or fix hidden_layer_sizes under estimator)")
        if "lambda" in params and "alpha" in params:
            self.fail("space.lambda", "search lambda or alpha, not both")
        for key in {"lambda", "depth", "width"} & set(params):  # augment_<key>: check_augment_entry
            self.derived(key, params[key])
        if isinstance(params.get("hidden_layer_sizes"), Categorical):
            for choice in params["hidden_layer_sizes"].choices:
                self.layer_sizes(choice, "space.hidden_layer_sizes.choices")
        return SearchSpace(params)

    def derived(self, key, dim):
        """lambda is a number >= 0; width and depth are integers >= 1: each bound or choice."""
        where = f"space.{key}"
        values = dim.choices if isinstance(dim, Categorical) else (dim.low, dim.high)
        where += ".choices" if isinstance(dim, Categorical) else ""
        for value in values:
            if key == "lambda":
                ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
                expected = "a number >= 0"
            else:
                ok = _is_int(value) and value >= 1
                expected = "an integer >= 1"
            if not ok:
                self.fail(where, f"{key} must be {expected}, got {value!r}")

    def layer_sizes(self, value, where):
        sizes = value if isinstance(value, tuple) else (value,)
        if not sizes or not all(_is_int(size) and size >= 1 for size in sizes):
            self.fail(where, f"hidden_layer_sizes must be integers >= 1, got {value!r}")

    def dimension(self, key, spec):
        where = f"space.{key}"
        if "choices" in spec:
            return self.categorical(key, spec)
        self.unknown_keys(spec, {"low", "high", "log", "type", "step"}, where + ".")
        for bound in ("low", "high"):
            if bound not in spec:
                self.fail(f"{where}.{bound}", "missing (a range needs low and high, or give choices)")
        low, high = self.number(spec["low"], f"{where}.low"), self.number(spec["high"], f"{where}.high")
        kind = spec.get("type", "int" if isinstance(spec["low"], int) and isinstance(spec["high"], int)
                        and key != "lambda" else "float")
        if kind not in ("int", "float"):
            self.fail(f"{where}.type", f"must be int or float, got {kind!r}")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            self.fail(f"{where}.log", f"must be true or false, got {log!r}")
        if low > high:
            self.fail(where, f"low {low} is above high {high}")
        if log and low <= 0:
            self.fail(f"{where}.low", f"a log range needs low > 0, got {low}")
        if key in self.task.params:
            for bound in (low, high):
                self.check_params({key: int(bound) if kind == "int" else bound}, "space")
        if key in AUGMENT_PARAMS:
            for bound in (low, high):
                self.check_augment_entry(key, int(bound) if kind == "int" else bound)
        if key in ("depth", "width") and (kind != "int" or low < 1):
            self.fail(where, f"{key} is an integer range with low >= 1")
        return Range(low, high, log=log, integer=kind == "int")

    def categorical(self, key, spec):
        where = f"space.{key}"
        self.unknown_keys(spec, {"choices"}, where + ".")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            self.fail(f"{where}.choices", f"must be a non-empty list, got {choices!r}")
        choices = [tuple(c) if isinstance(c, list) else
                   self.number(c, f"{where}.choices") if isinstance(c, str) and _looks_numeric(c) else c
                   for c in choices]  # YAML 1.1 reads 1e-5 as a string
        if key in self.task.params:
            for choice in choices:
                self.check_params({key: choice}, "space")
        if key in AUGMENT_PARAMS:
            for choice in choices:
                self.check_augment_entry(key, choice)
        return Categorical(choices)

    def check_augment_entry(self, key, value):
        try:
            check_augment({key[len(AUGMENT_PREFIX):]: value}, None)
        except InvalidParameterError as error:
            self.fail(f"space.{key}", str(error).splitlines()[0])

    def seeds(self, raw, repeats):
        if raw is None:
            return list(range(repeats))
        if not isinstance(raw, list) or len(raw) != repeats or not all(
                isinstance(s, int) and not isinstance(s, bool) for s in raw):
            self.fail("seeds", f"must be a list of {repeats} integers (one per repeat), got {raw!r}")
        return raw

    def trials(self, raw, estimator):
        """The stages, the timeout and the time budget: how many trials run, and for how long."""
        planned = raw.get("budget") is not None  # a time plan counts the trials itself
        stages = self.stages(raw.get("stages"), raw.get("n_trials", 20), planned)
        return dict(stages=stages, timeout=self.timeout(raw.get("timeout")),
                    time_budget=self.time_budget(raw.get("budget"), stages, estimator))

    def time_budget(self, raw, stages, estimator):
        """``budget: {time: 15m}``: the seconds the whole command may take (None: no limit). Its plan runs two
        stages and chooses each trial's epochs (search.study.timeplan)."""
        if raw is None:
            return None
        raw = self.mapping(raw, "budget")
        self.unknown_keys(raw, {"time"}, "budget.")
        try:
            seconds = seconds_of(raw.get("time"))
        except ValueError as error:
            self.fail("budget.time", str(error))
        if len(stages) > 2:
            self.fail("stages", f"a time budget runs two stages (coarse, then fine), got {len(stages)}")
        if "max_iter" in estimator:
            self.fail("estimator.max_iter", "a time budget plans each trial's epochs: give epochs (the most a "
                                            "trial may train) instead")
        return seconds

    def stages(self, raw, n_trials, planned=False):
        """The coarse-to-fine stages; ``planned`` (a time budget): their ``n_trials`` may be left out."""
        if raw is None:
            return [Stage(self.integer(n_trials, "n_trials", minimum=1))]
        if not isinstance(raw, list) or not raw:
            self.fail("stages", f"must be a non-empty list of stages, got {raw!r}")
        stages = []
        for i, spec in enumerate(raw):
            where = f"stages[{i}]"
            spec = self.mapping(spec, where)
            self.unknown_keys(spec, STAGE_KEYS, where + ".")
            decades, fraction = default_narrowing(i)
            stage = Stage(
                n_trials=self.integer(spec.get("n_trials", 1 if planned else None), f"{where}.n_trials", minimum=1),
                decades=self.number(spec.get("decades", decades), f"{where}.decades"),
                fraction=self.number(spec.get("fraction", fraction), f"{where}.fraction"),
                sampler=spec.get("sampler"),
            )
            if stage.sampler is not None and stage.sampler not in SAMPLERS:
                self.fail(f"{where}.sampler", f"unknown sampler {stage.sampler!r} "
                          f"(expected one of {', '.join(SAMPLERS)})")
            if i > 0 and (stage.decades <= 0 or stage.fraction <= 0):
                self.fail(where, "a later stage narrows: decades and fraction must be > 0")
            stages.append(stage)
        return stages

    def timeout(self, raw):
        if raw is None:
            return None
        value = self.number(raw, "timeout")
        if value <= 0:
            self.fail("timeout", f"must be > 0 seconds, got {raw!r}")
        return value

    def named_option(self, raw, key, allowed):
        """``tpe`` or ``{name: tpe, seed: 0, ...}``: a name and its keyword arguments."""
        spec = {"name": raw} if isinstance(raw, str) or raw is None else dict(self.mapping(raw, key))
        name = "none" if spec.get("name") is None else spec["name"]
        if name not in allowed:
            self.fail(f"{key}", f"unknown {key} {name!r} (expected one of {', '.join(allowed)})")
        return dict(spec, name=name)

    def register(self, raw, study_name):
        if raw is False or raw is None:
            return None
        spec = {} if raw is True else dict(self.mapping(raw, "register"))
        self.unknown_keys(spec, {"name", "alias"}, "register.")
        register = {"name": str(spec.get("name", study_name)), "alias": str(spec.get("alias", "champion"))}
        # MLflow's own rules, now: after the whole study has trained is too late to learn them.
        from mlflow.utils.validation import (_validate_model_alias_name, _validate_model_alias_name_reserved,
                                             _validate_model_name)

        for key, check in (("name", _validate_model_name), ("alias", _validate_model_alias_name),
                           ("alias", _validate_model_alias_name_reserved)):
            try:
                check(register[key])
            except Exception as error:  # MlflowException
                where = f"register.{key}" if key in spec or key == "alias" else "name"
                self.fail(where, f"MLflow refuses {register[key]!r} as a registered-model {key}: "
                                 f"{' '.join(str(error).split())}")
        return register


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _looks_numeric(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
