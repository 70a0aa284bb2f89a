"""Faust agents, one module each; found by autodiscover (see logiflow.app)."""
