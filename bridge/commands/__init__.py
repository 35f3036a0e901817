"""Subcommands of `slabridge` beyond serve/check-config; each module has register(subparsers)."""
