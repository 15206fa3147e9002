package joinedup.decision_test

import data.joinedup.decision

caller(role) := {"user": "u1", "org": "org", "roles": [role], "team": "t"}

request(role, purpose, coordinates) := {
	"caller": caller(role),
	"purpose": purpose,
	"fields": [{"coordinate": c, "agency": "council"} | some c in coordinates],
}

test_wildcard_grant_allows_every_field_of_the_type if {
	d := decision.fields with input as request("social_worker", "safeguarding_children", ["CouncilSection.address"])
	d["CouncilSection.address"].effect == "allow"
}

test_exact_grant_allows_only_the_named_field if {
	d := decision.fields with input as request("keyworker", "early_help", ["CouncilSection.team", "CouncilSection.address"])
	d["CouncilSection.team"].effect == "allow"
	d["CouncilSection.address"].effect == "deny"
	contains(d["CouncilSection.address"].reason, "is not shared")
}

test_mask_grant_returns_the_catalogued_mask if {
	d := decision.fields with input as request("keyworker", "early_help", ["CouncilSection.dateOfBirth"])
	d["CouncilSection.dateOfBirth"] == {"effect": "mask", "mask": "year"}
}

test_allow_wins_over_mask if {
	d := decision.fields with input as request("social_worker", "early_help", ["BenefitsSection.postcode", "BenefitsSection.name"])
	d["BenefitsSection.name"].effect == "allow"
	d["BenefitsSection.postcode"].effect == "mask"
}

test_mask_without_catalogued_mask_is_denied if {
	d := decision.fields with input as request("keyworker", "early_help", ["CouncilSection.nothing"])
		with data.access.grants.keyworker.early_help.mask as ["CouncilSection.nothing"]
	d["CouncilSection.nothing"].effect == "deny"
}

test_role_without_grant_for_purpose_is_denied_with_reason if {
	d := decision.fields with input as request("benefits_officer", "safeguarding_children", ["BenefitsSection.name"])
	d["BenefitsSection.name"].effect == "deny"
	contains(d["BenefitsSection.name"].reason, "none of the caller's roles")
}

test_unknown_purpose_is_denied_with_reason if {
	d := decision.fields with input as request("social_worker", "curiosity", ["CouncilSection.name"])
	d["CouncilSection.name"].effect == "deny"
	contains(d["CouncilSection.name"].reason, "not a recognised purpose")
}

test_no_roles_denies_everything if {
	d := decision.fields with input as {"caller": {"roles": []}, "purpose": "early_help", "fields": [{"coordinate": "Person.council"}]}
	d["Person.council"].effect == "deny"
}

test_wildcard_does_not_match_a_longer_type_name if {
	not decision.covers("CouncilSection.*", "CouncilSectionX.name")
	decision.covers("CouncilSection.*", "CouncilSection.name")
}

test_revision_comes_from_data if {
	decision.revision == "r1" with data.access.revision as "r1"
}

test_revision_defaults_when_data_has_none if {
	decision.revision == "unversioned"
}

test_obligations_are_standard_audit if {
	decision.obligations.audit_level == "standard"
}
