"""What a finished study leaves: its summary on the parent run (:mod:`.summary`), and the champion
(:mod:`.champion`: refit, guarded, scored on test) logged as one pipeline (:mod:`.model`) and
registered (:mod:`search.tracking.registry`)."""
