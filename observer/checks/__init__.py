"""Running the detectors on schedule: which checks apply to a dataset, and their results."""
