package joinedup.sensitivity_test

import data.joinedup.sensitivity

test_location_category_spans_agencies if {
	sensitivity.category_coordinates.location["CouncilSection.address"]
	sensitivity.category_coordinates.location["BenefitsSection.postcode"]
}

test_visible if {
	sensitivity.visible("sexual_health") with input as {"caller": {"roles": ["gp"]}, "purpose": "direct_care"}
	not sensitivity.visible("sexual_health") with input as {"caller": {"roles": ["keyworker"]}, "purpose": "early_help"}
}
