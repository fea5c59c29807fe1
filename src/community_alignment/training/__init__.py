"""Training wrappers over TRL (RewardTrainer, DPOTrainer) and the conditioning template."""
