"""Schools: a REST/JSON pupil service keyed by the school system's pupil id."""
