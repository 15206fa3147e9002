package joinedup.consent_test

import data.joinedup.consent

test_state_defaults_to_not_recorded if {
	consent.state({}, "early_help") == "not_recorded"
	consent.state({"early_help": "given"}, "early_help") == "given"
}

test_rule_per_purpose if {
	consent.rule == "required" with input as {"purpose": "early_help"}
	consent.rule == "not_required" with input as {"purpose": "unknown"}
}

test_required_consent if {
	consent.consent_gate("refused", "required", false, false, "early_help").rule == "consent.required"
	consent.consent_gate("given", "required", false, false, "early_help").effect == "allow"
	consent.consent_gate("not_recorded", "required", false, true, "early_help").effect == "allow"
}

test_overridable_consent if {
	consent.consent_gate("withdrawn", "overridable", false, false, "s").rule == "consent.override_required"
	consent.consent_gate("withdrawn", "overridable", true, false, "s").effect == "allow"
	consent.consent_gate("not_recorded", "overridable", false, false, "s").effect == "allow"
}

test_overridden_is_reviewed if {
	consent.overridden with input as {"purpose": "safeguarding_children", "consent_override": {"reason": "s47"}}
	not consent.overridden with input as {"purpose": "early_help", "consent_override": {"reason": "s47"}}
}
