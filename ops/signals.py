"""Exposure records for allauth flows (filled in by the exposure log slice)."""
