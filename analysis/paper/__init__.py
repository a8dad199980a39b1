"""The study's side of the manuscript: the numbers it quotes and its appendix tables."""
