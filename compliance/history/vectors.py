"""Sentence embeddings kept with the history (half precision, keyed by model and sentence text), so that
re-scoring after a script edit embeds only the script's lines. A part of ``Store``."""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import numpy as np


class EmbeddingStore:
    """The ``embeddings`` table; mixed into ``Store`` (which gives ``_conn`` and ``_tx``)."""

    _conn: sqlite3.Connection

    def _tx(self) -> Any:
        raise NotImplementedError

    def load_embeddings(self, model: str, texts: Iterable[str]) -> dict[str, "np.ndarray"]:
        """Stored vectors of these sentences (those never embedded are missing)."""
        import numpy as np

        from compliance.scoring.embeddings import text_key

        wanted = {text_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        keys = list(wanted)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            try:
                rows = self._conn.execute(
                    f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({', '.join('?' * len(chunk))})",
                    (model, *chunk)).fetchall()
            except sqlite3.OperationalError:
                return found  # a history from before embeddings were kept, opened read-only
            for key, blob in rows:
                found[wanted[key]] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        return found

    def save_embeddings(self, model: str, vectors: dict[str, "np.ndarray"]) -> None:
        """Keep sentence vectors for later re-scoring (existing ones are left as they are)."""
        import numpy as np

        from compliance.scoring.embeddings import text_key

        if not vectors:
            return
        with self._tx() as conn:
            conn.executemany("INSERT OR IGNORE INTO embeddings (model, key, vector) VALUES (?, ?, ?)",
                             [(model, text_key(t), np.asarray(v, dtype=np.float16).tobytes())
                              for t, v in vectors.items()])
