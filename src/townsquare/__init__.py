"""Townsquare: an open-source trust & safety platform."""

__version__ = "0.1.0"
