"""Importable test helpers (conftest modules are not importable): ``core`` (keys, passes, waiting),
``gate`` (a site and frames for the daemon), ``hub`` (a hub process, PostgreSQL, enrolled devices),
``provision`` (the CLI in-process, tokens). Tools under tools/ import them too."""
