"""Engine: the training loop, streams, checkpoints, logging, plots."""
