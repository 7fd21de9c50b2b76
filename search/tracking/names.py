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
TIMING = "timing"  # under a time plan: {seconds, epochs, rows} of its fits, the speed the plan measures

# ---------------------------------------------------------------- Optuna study user attributes

STUDY_FILE = "study_file"  # the study file's text, for workers (its path: the parent run's tag)
EXPERIMENT_ID = "experiment_id"
PARENT_RUN_ID = "parent_run_id"  # the current invocation's parent run (also a model version's tag)
TIME_PLAN = "time_plan"  # the time plan in force (search.study.timeplan), for workers; None without one
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
# A study run with a time budget (search.trials.timekeeping), on its parent run: the budget as a param;
# the plan's numbers as metrics plan_<what> (step 0: planned at the start, 1: replanned after stage 1)
# and its line as the tag time_plan (TIME_PLAN); what each phase spent as metrics spent_<phase>_seconds
# and the line as the tag time_spent; the refit's epochs.
TIME_BUDGET, PLAN_PREFIX, SPENT_PREFIX, TIME_SPENT, REFIT_EPOCHS = (
    "time_budget", "plan_", "spent_", "time_spent", "refit_epochs")
