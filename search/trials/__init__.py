"""Running trials.

- :mod:`.objective`: the Optuna objective: one trial trained and tracked as a nested MLflow run;
- :mod:`.workers`: worker processes started and waited for, SIGTERM taken as Ctrl-C;
- :mod:`.recovery`: stale, dead and interrupted trials failed, their runs closed, and queued again;
- :mod:`.progress`: the progress bar and a line per finished trial;
- :mod:`.background`: the process that draws trial figures while the next trial trains;
- :mod:`.timekeeping`: a time budget's plan at work: the probe, the stages, the stop at the search's end;
- :mod:`.lifeline`: helper processes that end with their parent.
"""
