"""Civilized-city strand (design C): overlap of the NCCA and social credit infrastructures
in documents, and what residents know of both, from coded REFI-QDA projects."""
