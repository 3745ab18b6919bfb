"""HTTP entry points of the sync engine: the Google push webhook and the sync health card."""
