"""ScaleDown's benchmark harness: our systems and their peers on public data, scored by one scorer.

Run ``python -m bench --help``. Nothing here is part of the package; it uses only ScaleDown's public
API, and the data folder is always an argument. Modules that peer workers import (``bench.worker``,
``bench.suites``, ``bench.adapters.*``) import nothing outside the standard library at import time, so
they also run inside the peers' own virtual environments.
"""
