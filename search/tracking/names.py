"""The names the service writes and reads back: Optuna attributes, MLflow tags, params and metrics.

One place for each name shared across modules (as MLflow's own
``mlflow.utils.mlflow_tags``): the objective writes them, tracking, the
summary, the report and the progress lines read them.
"""

from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NOTE

# ---------------------------------------------------------------- Optuna trial user attributes

FAIL_REASON = "fail_reason"  # why a trial failed (also its run's tag)
MLFLOW_RUN_ID = "mlflow_run_id"  # the trial's child run
WORKER = "worker"  # host:pid of the worker that runs it (also the parent run's tag)
STAGE = "stage"  # its coarse-to-fine stage, numbered from 1 (also its run's param)
RANGES = "ranges"  # the ranges its stage searched, as text

# ---------------------------------------------------------------- Optuna study user attributes

STUDY_FILE = "study_file"  # the study file's text, for workers (its path: the parent run's tag)
EXPERIMENT_ID = "experiment_id"
PARENT_RUN_ID = "parent_run_id"  # the current invocation's parent run (also a model version's tag)
DATA_FINGERPRINT = "data_fingerprint"  # a study's rows as read (Dataset.rows_fingerprint); a version's scaled ones

# ---------------------------------------------------------------- MLflow run tags

STUDY = "study"  # a parent run's study name (also a model version's tag)
PARENT_RUN = MLFLOW_PARENT_RUN_ID  # "mlflow.parentRunId": a trial's run -> its parent run
NOTE = MLFLOW_RUN_NOTE  # a run's description in the UI: why a trial was pruned or failed
OPTUNA_STATE = "optuna.state"  # a trial run's Optuna state: COMPLETE, PRUNED, FAIL
PRUNE_REASON = "prune_reason"
CHAMPION_SOURCE = "champion_source"  # refit, trial-<n> or unchanged
REGISTERED_VERSION = "registered_version"
# Under ``mlflow run`` outside the study's experiment: the two runs name each other.
LAUNCHER_RUN_ID, STUDY_PARENT_RUN_ID, STUDY_EXPERIMENT_ID = (
    "launcher_run_id", "study_parent_run_id", "study_experiment_id")

# ---------------------------------------------------------------- MLflow experiment tags

# MLflow 3's UI opens an experiment in its GenAI view unless this tag says otherwise
# (the values of the UI's ExperimentKind: "custom_model_development" is model training).
EXPERIMENT_KIND_TAG, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"
# The UI's shared views: the experiment tag <prefix><key> holds a view's JSON, and
# ...?viewStateShareKey=<key> opens the runs table with it.
SHARED_VIEW_TAG, VIEW_KEY = "mlflow.sharedViewState.", "study"

# ---------------------------------------------------------------- MLflow params and metrics

TRIAL_NUMBER = "trial_number"  # a trial run's param
