"""The benefits agency: a REST/JSON service keyed by National Insurance number."""
