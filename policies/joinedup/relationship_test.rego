package joinedup.relationship_test

import data.joinedup.relationship

test_required_per_purpose if {
	relationship.required with input as {"purpose": "early_help"}
	not relationship.required with input as {"purpose": "safeguarding_children"}
	not relationship.required with input as {"purpose": "unknown"}
}

test_gate if {
	relationship.relationship_gate(false, true, false, "early_help").rule == "relationship.required"
	relationship.relationship_gate(true, true, false, "early_help").effect == "allow"
	relationship.relationship_gate(false, true, true, "early_help").effect == "allow"
	relationship.relationship_gate(false, false, false, "early_help").effect == "allow"
}
