"""The benchmark pipeline: arguments, training/loading, scoring, metrics, results."""
