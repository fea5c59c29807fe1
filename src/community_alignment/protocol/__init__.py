"""Protocol v2: tracks and protocol ids, the ground truth of an evaluation, and the submission format."""
