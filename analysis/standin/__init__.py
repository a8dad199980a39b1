"""Generators of the simulated stand-in data. Nothing on the real-data path imports these."""
