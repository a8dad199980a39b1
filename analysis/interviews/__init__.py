"""Interview strand: read the coded REFI-QDA project and tally the barriers."""
