package joinedup.consent_test

import data.joinedup.consent

test_state_defaults_to_not_recorded if {
	consent.state({}) == "not_recorded" with input as {"purpose": "early_help"}
	consent.state({"consent": {"early_help": "given"}}) == "given" with input as {"purpose": "early_help"}
}

test_break_glass_waives_required_consent if {
	not consent.no_consent({}) with input as {"purpose": "direct_care", "caller": {"roles": ["gp"]}, "break_glass": {"reason": "r"}}
		with data.access.purposes.direct_care.consent as "required"
}
