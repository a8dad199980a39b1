"""Operators shared by the project's two small, safe expression languages.

Claim assertions (paperkit/claims.py) and a study's own small languages (such as a
codebook's skip logic) are parsed with ``ast`` and interpreted node by node, never passed
to ``eval``; all allow exactly these comparisons.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
