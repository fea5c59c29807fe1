"""Scorers: `score(comparisons) -> (n, 4)` scores, one per candidate (NaN where there is none)."""
