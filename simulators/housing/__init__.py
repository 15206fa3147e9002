"""Housing: a REST/JSON tenancy and homelessness service."""
