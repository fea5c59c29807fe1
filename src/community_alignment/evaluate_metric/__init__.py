"""The `evaluate` adapter: `evaluate.load(community_alignment.evaluate_metric.PATH)` works offline."""

import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pluralistic_fit.py")
