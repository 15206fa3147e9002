package joinedup.grants_test

import data.joinedup.grants

test_type_wildcard if {
	grants.type_wildcard("CouncilSection.name") == "CouncilSection.*"
}

test_name_grant_overrides_type_grant if {
	grants.grant({}, [["mask", "allow"]]) == {"effect": "mask", "rule": "grants.by_name"}
	grants.grant({}, [["", "mask"]]) == {"effect": "mask", "rule": "grants.by_type"}
	grants.grant({}, [["mask", ""], ["", "allow"]]) == {"effect": "allow", "rule": "grants.by_type"}
	not grants.grant({"sensitive": true}, [["", "allow"]])
	not grants.grant({}, [["", ""]])
}

test_agreements_per_agency if {
	a := grants.agreements with input as {"caller": {"roles": ["keyworker", "gp"]}, "purpose": "early_help"}
	count(a.council) == 1
	count(a.benefits) == 1
	grants.agencies_with_agreement == {"council", "benefits", "schools", "housing"} with input as {"caller": {"roles": ["keyworker"]}, "purpose": "early_help"}
	grants.agencies_with_agreement == {"nhs"} with input as {"caller": {"roles": ["gp"]}, "purpose": "direct_care"}
	count(grants.agencies_with_agreement) == 0 with input as {"caller": {"roles": ["benefits_officer"]}, "purpose": "direct_care"}
}

test_accountability_catalogue_holds_no_person_data if {
	held := grants.agencies_with_agreement with input as {"caller": {"roles": ["data_protection_officer"]}, "purpose": "audit_review"}
	held == {"audit"}
	count(grants.person_data_agencies_with_agreement) == 0 with input as {"caller": {"roles": ["data_protection_officer"]}, "purpose": "audit_review"}
}
