"""Figures of the paper, drawn from results files only (never refitting anything)."""
