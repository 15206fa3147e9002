package joinedup.confidence_test

import data.joinedup.confidence

test_each_match_gets_the_class_its_gate_depends_on if {
	confidence.classes == ["sufficient", "identity.threshold", "identity.unknown_agency", "identity.threshold"] with input as {"matches": [
		{"agency": "council", "confidence": 1.0},
		{"agency": "council", "confidence": 0.5},
		{"agency": "zoo", "confidence": 1.0},
		{"agency": "council", "confidence": "high"},
	]}
}
