"""Recordings: the synthetic sEEG generator and loaders of real recordings."""
