"""The console's pages, one module per area; each has ``router`` (see ``gatekeeper.hub.console``)."""
