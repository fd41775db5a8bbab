"""Loading a DCP checkpoint from elsewhere without running code from it.

DCP reads a checkpoint's `.metadata` with `pickle.load` and its non-tensor items with
`torch.load(weights_only=False)`: a crafted checkpoint could run anything. `safe_dcp_load`
reads the metadata with an unpickler that builds only DCP's metadata classes and the torch
types they hold, and the items with `torch.load(weights_only=True)`; anything else is a
`CheckpointError` naming the file.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint import DefaultLoadPlanner, FileSystemReader
from torch.distributed.checkpoint._traverse import set_element
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.metadata import Metadata, StorageMeta


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or does not fit the model; names the folder."""


_DCP = "torch.distributed.checkpoint"
ALLOWED_GLOBALS = {
    (f"{_DCP}.metadata", name) for name in (
        "Metadata", "TensorStorageMetadata", "BytesStorageMetadata", "ChunkStorageMetadata",
        "TensorProperties", "MetadataIndex", "StorageMeta", "_MEM_FORMAT_ENCODING")
} | {
    (f"{_DCP}.filesystem", "_StorageInfo"), ("torch", "Size"),
    ("torch.serialization", "_get_layout"), ("pathlib", "PosixPath"),
    ("collections", "OrderedDict"),
} | {("torch", str(dtype).removeprefix("torch.")) for dtype in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
    torch.int16, torch.int8, torch.uint8, torch.bool)}
"""(module, name) of every global the metadata of a checkpoint of ours refers to."""


class _MetadataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refers to {module}.{name}, which checkpoint "
                                         f"metadata never holds")
        return super().find_class(module, name)


def read_metadata(path: Path) -> Metadata:
    """A `.metadata` file, unpickled with only the allowed globals."""
    try:
        with open(path, "rb") as f:
            metadata = _MetadataUnpickler(f).load()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing (not a DCP checkpoint)") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise CheckpointError(f"{path}: not a DCP checkpoint metadata file: "
                              f"{type(e).__name__}: {e}") from None
    if not isinstance(metadata, Metadata):
        raise CheckpointError(f"{path}: holds a {type(metadata).__name__}, not DCP metadata")
    return metadata


class _SafeReader(FileSystemReader):
    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        metadata = read_metadata(Path(self._get_metadata_path(kwargs.get("rank"))))
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


class _SafePlanner(DefaultLoadPlanner):
    def load_bytes(self, read_item: Any, value: io.BytesIO) -> None:
        fqn = read_item.dest_index.fqn
        try:
            loaded = torch.load(value, weights_only=True)
        except Exception as e:  # noqa: BLE001 - weights_only refuses anything but plain data
            raise CheckpointError(f"item {fqn!r} is not plain data: {type(e).__name__}: "
                                  f"{e}") from None
        if self.flatten_state_dict:
            set_element(self.original_state_dict, self.mappings[fqn], loaded)
        else:
            self.state_dict[fqn] = loaded


def safe_dcp_load(state_dict: dict, path: Path, no_dist: bool) -> None:
    """`dcp.load` into `state_dict` from `path`, without unpickling arbitrary objects."""
    read_metadata(path / ".metadata")    # a clear error before DCP wraps it in its own
    try:
        dcp.load(state_dict, storage_reader=_SafeReader(path), planner=_SafePlanner(),
                 no_dist=no_dist)
    except CheckpointException as e:
        raise CheckpointError(f"{path}: cannot load: {e}") from None
