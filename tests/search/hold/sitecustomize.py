"""Test hook, loaded by worker processes whose PYTHONPATH starts with this folder.

With ``$SEARCH_TEST_HOLD`` set to a folder, the first trial to start training
in any process (first come, by an exclusive file create) writes
``held`` there (``<pid> <trial number>``) and waits, in training, for a
signal: a test then stops it at a point it controls, never by timing
(SIGUSR1 lets the trial train on, as if it had only been slow).
``$SEARCH_TEST_HOLD_AFTER`` (default 0) lets that many trials complete first;
with ``$SEARCH_TEST_HOLD_REFIT`` set, the refit of the best trial is held instead.
"""

import os

import sys

# Only the commands (python -m search ...), not the helper processes they start.
FOLDER = os.environ.get("SEARCH_TEST_HOLD") if "search" in getattr(sys, "orig_argv", ())[1:3] else None


def hold(number):
    """Say where we are (``held``, written whole), then wait for the test's signal."""
    import signal

    resumed = []
    signal.signal(signal.SIGUSR1, lambda *_: resumed.append(True))
    with open(os.path.join(FOLDER, "held.tmp"), "w") as file:
        file.write(f"{os.getpid()} {number}")
    os.rename(os.path.join(FOLDER, "held.tmp"), os.path.join(FOLDER, "held"))
    while not resumed:
        signal.pause()  # until SIGUSR1, SIGTERM (raised as KeyboardInterrupt), SIGINT or SIGKILL


if FOLDER and os.environ.get("SEARCH_TEST_HOLD_REFIT"):
    import search.outcome.champion as champion

    def held_refit(run, study, *args, **kwargs):
        hold(study.best_trial.number)

    champion.refit_and_register = held_refit
elif FOLDER:
    import search.trials.objective as objective

    fit = objective.Objective.fit

    def held_fit(self, trial, *args, **kwargs):  # Objective.fit's own arguments, whatever they are
        after = int(os.environ.get("SEARCH_TEST_HOLD_AFTER", "0"))
        complete = sum(t.state.name == "COMPLETE" for t in trial.study.get_trials(deepcopy=False))
        if complete >= after:
            try:  # the claim stays: only one trial is ever held
                os.close(os.open(os.path.join(FOLDER, "claimed"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return fit(self, trial, *args, **kwargs)
            hold(trial.number)
        return fit(self, trial, *args, **kwargs)

    objective.Objective.fit = held_fit
