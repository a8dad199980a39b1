"""Robustness grid: every checked claim re-evaluated under the analytic choices a reviewer
would question (weight cap, margins, exclusion rules, variance convention, model blocks,
interview coder). ``grid`` expands the config into specifications, ``compute`` runs a
batch of them reusing shared work, ``summary`` writes the claim and estimate tables."""
