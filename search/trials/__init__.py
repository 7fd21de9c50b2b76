"""Running trials: the objective, the queue and budget, worker processes, recovery of dead trials,
progress output, and the background process that draws trial figures."""
