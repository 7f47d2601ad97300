"""Evaluation of encoders: kNN monitor (more protocols follow)."""
