"""Pure mappings between legacy helpdesk payloads and the Supportly model, one module per provider."""
