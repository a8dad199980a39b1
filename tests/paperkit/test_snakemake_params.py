"""paperkit.workflow.params_without_pandas: Snakemake's params check without importing
pandas while no param can be a pandas object."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    from snakemake import persistence
    from paperkit.workflow import params_without_pandas

    base = persistence.PersistenceBase
    original = base._serialize_param_pandas
    assert params_without_pandas() is True
    assert params_without_pandas() is False  # wrapped once only
    class Stand:  # the persistence methods the two hashes use (the base is abstract)
        _serialize_param_builtin = base._serialize_param_builtin

    self = Stand()
    values = [1, "a", [1, 2], {"k": 0.5}, (3,)]
    hashed = [base._serialize_param_pandas(self, v) for v in values]
    assert "pandas" not in sys.modules, "hashing builtin params imported pandas"
    import pandas as pd
    assert hashed == [original(self, v) for v in values]
    frame = pd.DataFrame({"x": [1, 2]})
    assert base._serialize_param_pandas(self, frame) == original(self, frame)
    assert base._serialize_param_pandas(self, frame).startswith("[")
    print("ok")
""")


def test_builtin_params_hash_as_before_without_importing_pandas_and_frames_still_by_pandas(
) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
