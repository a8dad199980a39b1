"""Versions as a reader sees them: the software table names the typst compiler the PDF's
properties name (Creator "Typst x.y.z"), and the Python wheel only where it differs."""

from __future__ import annotations

import re
from importlib import metadata

import typst

from paperkit.variables import software_versions


def test_typst_is_reported_as_the_compiler_the_pdf_names():
    creator = re.search(rb"/Creator ?\(Typst ([\w.]+)\)", typst.compile(b"#lorem(3)")).group(1)
    reported = software_versions(["typst"])["typst"]
    wheel = metadata.version("typst")
    assert reported.split()[0] == creator.decode()
    assert (wheel in reported) is True
    assert reported == wheel or reported.endswith(f"(Python wheel typst {wheel})")
