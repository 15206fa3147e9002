package joinedup.break_glass_test

import data.joinedup.break_glass

test_blank_reason_is_not_a_request if {
	not break_glass.requested with input as {"break_glass": {"reason": "  "}}
}

test_allowed_only_for_listed_role_and_purpose if {
	break_glass.allowed with input as {"caller": {"roles": ["gp"]}, "purpose": "direct_care", "break_glass": {"reason": "collapse"}}
	not break_glass.allowed with input as {"caller": {"roles": ["gp"]}, "purpose": "early_help", "break_glass": {"reason": "collapse"}}
}
