"""Rung memory package."""
