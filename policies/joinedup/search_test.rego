package joinedup.search_test

import data.joinedup.decision

coordinates := [
	"Query.findPerson",
	"PersonSearch.candidates",
	"PersonCandidate.probability",
	"PersonCandidate.name",
	"PersonCandidate.yearOfBirth",
	"PersonCandidate.postcodeDistrict",
]

request(roles, purpose) := {
	"caller": {"user": "u1", "org": "org", "roles": roles, "team": "t"},
	"purpose": purpose,
	"fields": [{"coordinate": c, "agency": null} | some c in coordinates],
	"persons": [],
}

decided(roles, purpose) := result if {
	fields := decision.fields with input as request(roles, purpose)
	result := {d.coordinate: d | some d in fields}
}

limits(roles, purpose) := result if {
	result := decision.search with input as request(roles, purpose)
}

test_social_worker_searches_and_sees_every_detail if {
	d := decided(["social_worker"], "safeguarding_children")
	d["Query.findPerson"].rule == "search.permitted"
	d["PersonCandidate.probability"].effect == "allow"
	d["PersonCandidate.name"].rule == "search.detail"
	d["PersonCandidate.postcodeDistrict"].effect == "allow"
	l := limits(["social_worker"], "safeguarding_children")
	l.min_probability == 0.5
	l.likely_at == data.access.identity.min_confidence
	l.max_candidates == 10
	"council" in l.agencies
}

test_keyworker_sees_initials_and_no_postcode if {
	d := decided(["keyworker"], "early_help")
	d["PersonCandidate.name"].effect == "mask"
	d["PersonCandidate.name"].mask == "initials"
	d["PersonCandidate.yearOfBirth"].effect == "allow"
	d["PersonCandidate.postcodeDistrict"].effect == "deny"
	d["PersonCandidate.postcodeDistrict"].rule == "search.detail_withheld"
}

test_a_role_may_search_only_for_its_purposes if {
	d := decided(["keyworker"], "safeguarding_children")
	d["Query.findPerson"].effect == "deny"
	d["Query.findPerson"].rule == "search.not_permitted"
	d["PersonCandidate.name"].rule == "search.not_permitted"
	limits(["keyworker"], "safeguarding_children") == {}
}

test_roles_without_search_settings_are_refused if {
	decided(["benefits_officer"], "benefit_assessment")["Query.findPerson"].effect == "deny"
	decided(["data_protection_officer"], "audit_review")["Query.findPerson"].effect == "deny"
	decided([], "early_help")["Query.findPerson"].effect == "deny"
}

test_the_most_permissive_role_wins if {
	d := decided(["keyworker", "social_worker"], "early_help")
	d["PersonCandidate.name"].effect == "allow"
	d["PersonCandidate.postcodeDistrict"].effect == "allow"
}

test_a_role_may_set_its_own_minimum_probability if {
	limits(["gp"], "direct_care").min_probability == 0.7
	limits(["gp", "social_worker"], "direct_care").min_probability == 0.7
}

test_a_mask_without_a_named_mask_is_withheld if {
	d := decided(["gp"], "direct_care") with data.access.search.roles.gp.details as {"PersonCandidate.postcodeDistrict": "mask"}
	d["PersonCandidate.postcodeDistrict"].effect == "deny"
	d["PersonCandidate.postcodeDistrict"].rule == "masking.none"
}

test_an_unknown_purpose_denies_the_search if {
	decided(["social_worker"], "curiosity")["Query.findPerson"].rule == "purposes.unknown"
}

test_search_coordinates_do_not_change_other_fields if {
	fields := decision.fields with input as {
		"caller": {"user": "u1", "org": "org", "roles": ["social_worker"], "team": "t"},
		"purpose": "safeguarding_children",
		"fields": [{"coordinate": "Person.reference", "agency": null}, {"coordinate": "Query.findPerson", "agency": null}],
		"persons": [],
	}
	fields[0].rule == "grants.any_agreement"
	fields[1].rule == "search.permitted"
}
