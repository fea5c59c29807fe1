"""Pure metric functions on (scores, chosen_index, groups, annotators): numpy only, no I/O, no torch."""
