"""Model loading and the exact text/token encoding a model sees."""
