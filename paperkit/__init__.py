"""paperkit: the reusable machinery of a reproducible paper build.

Configuration with schema defaults, rule support with derived code dependencies, atomic
I/O and one strict YAML loader, one table writer, one number formatter, the variables
file, one reader of Quarto sources, the number and claim checks, provenance, notebook
execution, the raw-data manifest, replication metadata and rendering (Quarto, or pandoc
and typst). It knows nothing of any particular study: the study passes its specifics in.
"""

__version__ = "0.1.0"
