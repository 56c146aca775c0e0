"""Legacy helpdesk providers: one package per system, all the same shape (routes, auth, errors, client)."""
