package joinedup.identity_test

import data.joinedup.identity

test_default_threshold if {
	identity.threshold("council") == data.access.identity.min_confidence
}

test_non_number_confidence_is_not_enough if {
	identity.uncertain_match("council", "high")
	not identity.uncertain_match("council", 1)
}
