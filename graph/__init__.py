"""clusterkg's graph layer: vocabularies, mapping, SHACL validation, stores and saved queries."""

__version__ = "0.1.0"
