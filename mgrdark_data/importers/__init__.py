"""Importers: public datasets in their own layout -> annotation rows + the normal segmentation.

Each importer reads a dataset's own description (list files, folder names), writes an ordinary
annotation CSV into the dataset root, and calls `segment_dataset` with the dataset's stream
files, so clips, manifests, rejects and `mgrdata validate` work exactly as for MGR-Dark.
"""

from .nvgesture import ImportReport, import_nvgesture, read_nvgesture_lists

__all__ = ["ImportReport", "import_nvgesture", "read_nvgesture_lists"]
