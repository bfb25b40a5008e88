"""Coordinated campaigns: accounts acting together within short windows, found, cased and decided in bulk."""
