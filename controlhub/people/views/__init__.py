"""HTTP entry points of people: the People admin pages, the signed-in user's own page and sign-in links."""
