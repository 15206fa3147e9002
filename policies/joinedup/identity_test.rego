package joinedup.identity_test

import data.joinedup.identity

test_default_and_agency_thresholds if {
	identity.thresholds.council == data.access.identity.min_confidence
	identity.thresholds.council == 0.99 with data.agencies.council.min_confidence as 0.99
}

test_uncertain_matches if {
	identity.uncertain_match("council", "high", 0.9).rule == "identity.threshold"
	identity.uncertain_match("council", 0.5, 0.9).rule == "identity.threshold"
	identity.uncertain_match("zoo", 1, null).rule == "identity.unknown_agency"
	not identity.uncertain_match("council", 0.95, 0.9)
}
