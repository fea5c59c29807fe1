"""Leaderboard: validate submissions, submit them to a Hub results repo, build the page."""
