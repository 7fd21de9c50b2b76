"""What a study is, before anything runs: its file, search space, stages, samplers and pruners, and task."""
