"""Which segmenter runs a job's ``model``: the project's own model first, then the catalogue.

Project models and global models share one name space per project (a project model may not
take a global name when it is made, see ``model_jobs``); should a global model of the same
name appear later, the project's own model still wins inside its project.

Heavy things load once: a worker keeps each segmenter it built, a project model under
(project, name, SHA-256) so that a model replaced under the same name is loaded afresh.
Project models are kept in a small LRU, since every project may bring its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from cellhub.segmenter import Segmenter
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore

LoadGlobal = Callable[[str], Segmenter]
LoadProject = Callable[[ProjectModelStore, str, ProjectModelCard], Segmenter]
# Project models held at once per process; each holds its weights (on the GPU, if any).
PROJECT_MODELS_KEPT = 8


class ProjectSegmenters:
    """``segmenters(project_id, model)``: the segmenter for a job of that project."""

    def __init__(
        self,
        store: ProjectModelStore,
        *,
        load_global: LoadGlobal,
        load_project: LoadProject,
        keep: int = PROJECT_MODELS_KEPT,
    ) -> None:
        self._store = store
        self._load_global = load_global
        self._load_project = load_project
        self._keep = keep
        self._global: dict[str, Segmenter] = {}
        self._project: OrderedDict[tuple[str, str, str], Segmenter] = OrderedDict()
        # Several pump threads share one instance; loading twice would waste GPU memory.
        self._lock = threading.Lock()

    def __call__(self, project_id: str, model: str) -> Segmenter:
        """Raises what the loaders raise, e.g. ``UnknownModel`` for a name found nowhere."""
        card = self._store.get(project_id, model)
        with self._lock:
            if card is None:
                if model not in self._global:
                    self._global[model] = self._load_global(model)
                return self._global[model]
            key = (project_id, card.name, card.sha256)
            if key in self._project:
                self._project.move_to_end(key)
                return self._project[key]
            segmenter = self._load_project(self._store, project_id, card)
            self._project[key] = segmenter
            while len(self._project) > self._keep:
                self._project.popitem(last=False)
            return segmenter
