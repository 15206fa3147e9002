package joinedup.grants_test

import data.joinedup.grants

test_type_wildcard if {
	grants.type_wildcard("CouncilSection.name") == "CouncilSection.*"
}

test_no_grant_is_undefined if {
	not grants.grant("council", "CouncilSection.address") with input as {"caller": {"roles": ["keyworker"]}, "purpose": "early_help", "fields": [{"coordinate": "CouncilSection.address", "agency": "council"}]}
}
