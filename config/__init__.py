"""Rung config package."""
