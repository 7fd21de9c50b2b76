"""What a finished study leaves: its summary on the parent run, and the champion (refit, guarded,
logged as one pipeline and registered)."""
