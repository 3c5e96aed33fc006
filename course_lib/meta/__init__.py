"""Meta-learning: task distributions, MAML (second and first order), Reptile, and the fine-tuning baseline."""
