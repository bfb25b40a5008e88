"""Transparency: DSA reports, statements of reasons to the Transparency Database, prevalence, health."""
