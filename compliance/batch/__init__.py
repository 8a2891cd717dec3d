"""Batch: a folder of recordings and transcripts, planned against the history and analysed in workers."""
