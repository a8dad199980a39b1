"""Estimators only: no paths, no configuration; each checked against R."""
