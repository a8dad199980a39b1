"""Coded qualitative data: the shared layer of the interview and document strands.

The qualitative twin of :mod:`analysis.stats`: reading REFI-QDA projects from any tool
(:mod:`~analysis.qda.qdpx`, with the position conventions in
:mod:`~analysis.qda.positions`), and what every coded strand does with them: choosing
whose coding counts, the case x code matrix and intercoder reliability
(:mod:`~analysis.qda.coding`). Strands meet here, never in each other's modules.
"""
