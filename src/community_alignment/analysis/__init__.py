"""The paper's other systems: negatively-correlated candidate sampling, diversity, monoculture."""
