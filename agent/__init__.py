"""Rung agent package."""
