"""The index: a persistent, incremental store of a parsed source tree, beside the code model.

API::

    build_index(root, *, cache_dir=None, target_model="gpt-4o", workers=None, progress=None,
                verify=False) -> IndexStats
        # build or update the index of every .py file under root (the loader's walk and naming);
        # unchanged files (size, mtime_ns) are not read, new/changed ones parsed in a process pool,
        # deleted ones dropped; verify=True re-hashes every file (a rewrite with the same size and
        # mtime); progress(done, total) as files are processed
    load_tree(root, target_model="gpt-4o", cache_dir=None, workers=None, progress=None)
        -> (files, warnings)       # update, then the parsed files as load_sources gives them
    IndexStats: files, units, tokens, seconds, new, changed, deleted, unchanged, skipped, workers,
                warnings, index_path, files_per_second

Per file the index keeps what ranking and rendering need (units with spans, names, terms, calls,
references and guards; imports; statement blocks; per-line token counts of the target encoding) in one
SQLite file per (tree, encoding) under ``cache_dir`` (default ``$SCALEDOWN_CACHE_DIR/index`` or the user
cache folder), keyed by (path, size, mtime_ns) with a BLAKE2b hash of the bytes behind it. Readers see a
consistent snapshot while another process updates (WAL); a corrupt or older-format index is rebuilt and
an unwritable ``cache_dir`` falls back to a private temporary folder, each with a warning.
"""

from ._store import STORE_FORMAT, default_index_dir
from ._tree import IndexStats, Progress, build_index, clear_loaded, load_tree, stored_counts

__all__ = ["IndexStats", "Progress", "STORE_FORMAT", "build_index", "clear_loaded", "default_index_dir",
           "load_tree", "stored_counts"]
