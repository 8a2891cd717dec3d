"""Scoring: scripts and transcripts, the line scorers (words, meaning), connection, the call's score."""
