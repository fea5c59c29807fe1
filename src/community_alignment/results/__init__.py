"""The results contract (results.json, schema v1), its atomic writing, report and plots."""
