"""The clusterkg web service (Flask)."""
