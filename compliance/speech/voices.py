"""Two parties from speaker embeddings: spectral clustering of the pieces' d-vectors and how far apart the two
parties' pieces lie (``compliance.speech.voice_encoder`` makes the vectors, ``compliance.speech.diarize`` uses
these). Pure numpy over the vectors; nothing here knows about audio or words."""
from __future__ import annotations

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)


def spectral_split(vectors: np.ndarray, keep: float = 0.3) -> np.ndarray:
    """Two parties by spectral clustering of a pruned cosine-affinity graph (the usual clustering of d-vectors,
    Wang et al. 2018): the vectors centred on the call, each piece's affinities kept for its ``keep`` nearest
    pieces, symmetrised; the two smallest eigenvectors of the normalised Laplacian, then two-way k-means.
    Measured against k-means on the d-vectors themselves on close RHVoice pairs through 32 kbps mp3
    (``benchmarks/voiceprint_probe.py``): 0.9 % mean / 7.8 % worst of speech in the wrong party against 2.6 / 32 %."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=int)
    u = _unit(vectors - vectors.mean(axis=0))
    affinity = (1.0 + u @ u.T) / 2.0
    k = min(n, max(2, int(np.ceil(keep * n))))
    cut = np.sort(affinity, axis=1)[:, -k][:, None]
    affinity = np.where(affinity >= cut, affinity, 0.0)
    affinity = np.maximum(affinity, affinity.T)
    degree = affinity.sum(axis=1)
    laplacian = np.eye(n) - affinity / np.sqrt(np.outer(degree, degree))
    embedding = _unit(np.linalg.eigh(laplacian)[1][:, :2])
    return kmeans2(embedding, np.ones(n), iterations=30)


def kmeans2(x: np.ndarray, weight: np.ndarray, iterations: int = 20, axis_index: int = 0) -> np.ndarray:
    """Two clusters, seeded by the two vectors farthest apart along a principal axis (deterministic); ``weight``
    says how much each vector counts in its cluster's centre (the MFCC path weighs pieces by their length)."""
    centred = x - np.average(x, axis=0, weights=weight)
    axes = np.linalg.svd(centred, full_matrices=False)[2]
    axis = axes[min(axis_index, len(axes) - 1)]
    proj = centred @ axis
    centres = np.stack([x[int(np.argmin(proj))], x[int(np.argmax(proj))]])
    labels = np.zeros(len(x), dtype=int)
    for step in range(iterations):
        new = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        if step and np.array_equal(new, labels):
            break
        labels = new
        for k in (0, 1):
            if np.any(labels == k):
                centres[k] = np.average(x[labels == k], axis=0, weights=weight[labels == k])
    return labels


def centroid_scores(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each piece's cosine to party 0's mean d-vector less its cosine to party 1's (both centred on the call):
    above 0 the piece sounds like party 0."""
    if len(vectors) == 0 or not (np.any(labels == 0) and np.any(labels == 1)):
        return np.zeros(len(vectors))
    u = _unit(vectors - vectors.mean(axis=0))
    means = _unit(np.stack([u[labels == 0].mean(axis=0), u[labels == 1].mean(axis=0)]))
    return u @ means[0] - u @ means[1]


def contrast(vectors: np.ndarray, labels: np.ndarray) -> float:
    """The parties' pieces apart over their spread: the squared distance of the two parties' mean d-vectors (unit
    vectors centred on the call) over the mean squared distance of a piece from its party's mean (a Fisher ratio;
    0 when a party has no piece)."""
    if len(vectors) == 0 or not (np.any(labels == 0) and np.any(labels == 1)):
        return 0.0
    u = _unit(vectors - vectors.mean(axis=0))
    means = [u[labels == k].mean(axis=0) for k in (0, 1)]
    spread = np.concatenate([u[labels == k] - means[k] for k in (0, 1)])
    return float(((means[0] - means[1]) ** 2).sum() / max(float((spread ** 2).sum(axis=1).mean()), 1e-9))
