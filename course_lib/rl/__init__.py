"""Reinforcement learning: returns, rollouts, losses and agents."""
