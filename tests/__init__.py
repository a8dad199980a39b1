"""The test suite (a package, so that its sub-folders never shadow the project's)."""
