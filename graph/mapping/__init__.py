"""Mappings from source records (the D2.3 transcription, survey CSV exports, RDF files) to RDF."""
