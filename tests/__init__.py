"""The test suite; a package so that ``tests.kit`` imports the same way under ``--import-mode=importlib``."""
