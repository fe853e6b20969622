"""Rung tools package."""
