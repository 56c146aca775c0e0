"""Data migration: provider-agnostic jobs that stream a legacy helpdesk into the Supportly model."""
