"""Moved to tests/support/reference.py; kept while test_signals.py imports it from here."""

from tests.support.reference import real_movie_counts, stored_movie_counts

__all__ = ["real_movie_counts", "stored_movie_counts"]
