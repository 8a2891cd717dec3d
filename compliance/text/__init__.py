"""Text: Russian normalisation for matching (case, ё, numbers, lemmas), names as slugs, and lexicon data."""
