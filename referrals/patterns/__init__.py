"""Cumulative concerns: sharing a low-level concern with the front door, and pattern flags."""
