"""Locations the project reads from.  Nothing here touches the file system on import.

``shared_dir()`` is the folder with the reference data (``../shared`` next to the project
root, or ``$AHER_SHARED``).  The project never copies files out of it; it reads them by path.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """Return the ``shared`` folder (it may not exist: callers check)."""
    env = os.environ.get("AHER_SHARED")
    if env:
        return Path(env).resolve()
    return (PROJECT_ROOT.parent / "shared").resolve()
