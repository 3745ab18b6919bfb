"""HTTP entry points of the read side: the meetings page, device tokens, the JSON API, the reminder worker."""
