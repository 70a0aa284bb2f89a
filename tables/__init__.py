"""Faust table declarations with their pinned names; found by autodiscover."""
