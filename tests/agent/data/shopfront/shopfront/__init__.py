"""Shopfront: a small web shop's back end (catalog, cart, billing), the agent tests' fixture tree."""

__version__ = "0.3.1"
