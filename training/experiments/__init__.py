"""Experiments that produce the numbers reported for the offline pipeline."""
