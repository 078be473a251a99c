"""One adapter per system: how a user of that system would call it on a benchmark item.

Adapters for peers in their own venvs (``haste``, ``aider``) import only the peer and the standard
library; the others run in the project's .venv.
"""
