"""The study: a mixed-methods rebuild of research on social credit systems in China.

Sub-packages follow the rules of the workflow: ``survey`` (clean, weight, describe,
model), ``interviews`` (themes), ``civilized`` (overlap, residents), ``figures``,
``paper`` (numbers and appendix tables); ``stats`` holds the estimators and ``standin``
the simulated-data generators. The generic paper-build machinery, including the paper
half of the workflow, is the separate package ``paperkit``.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
