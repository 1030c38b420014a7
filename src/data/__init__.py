"""Corpus parsing, token cache and window datasets."""
