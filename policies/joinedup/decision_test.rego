package joinedup.decision_test

import data.joinedup.decision

person(key) := {"key": key, "match_confidence": {"council": 1, "benefits": 1}, "relationship": true, "consent": {"early_help": "given"}}

request(role, purpose, coordinates) := {
	"caller": {"user": "u1", "org": "org", "roles": [role], "team": "t"},
	"purpose": purpose,
	"fields": [{"coordinate": c, "agency": agency_of(c)} | some c in coordinates],
	"persons": [person("NI:1")],
}

agency_of(c) := "council" if startswith(c, "Council")

agency_of(c) := "benefits" if startswith(c, "Benefits")

agency_of(c) := null if startswith(c, "Person.ref")

agency_of("Person.council") := "council"

by_coordinate(role, purpose, coordinates) := result if {
	fields := decision.fields with input as request(role, purpose, coordinates)
	result := {d.coordinate: d | some d in fields}
}

test_type_grant_allows_a_field if {
	d := by_coordinate("social_worker", "safeguarding_children", ["CouncilSection.address"])
	d["CouncilSection.address"].effect == "allow"
	d["CouncilSection.address"].rule == "grants.by_type"
}

test_name_grant_allows_only_the_named_field if {
	d := by_coordinate("keyworker", "early_help", ["CouncilSection.team", "CouncilSection.address"])
	d["CouncilSection.team"].rule == "grants.by_name"
	d["CouncilSection.address"].effect == "deny"
	d["CouncilSection.address"].rule == "grants.none"
}

test_mask_grant_returns_the_catalogued_mask if {
	d := by_coordinate("keyworker", "early_help", ["CouncilSection.dateOfBirth"])
	d["CouncilSection.dateOfBirth"].effect == "mask"
	d["CouncilSection.dateOfBirth"].mask == "year"
}

test_mask_without_known_mask_is_denied if {
	d := by_coordinate("keyworker", "early_help", ["CouncilSection.dateOfBirth"]) with data.agencies.council.fields["CouncilSection.dateOfBirth"] as {"mask": "blur"}
	d["CouncilSection.dateOfBirth"].rule == "masking.none"
}

test_sensitive_field_is_not_covered_by_a_type_grant if {
	d := by_coordinate("social_worker", "early_help", ["CouncilSection.childProtectionPlan"])
	d["CouncilSection.childProtectionPlan"].rule == "grants.sensitive"
	s := by_coordinate("social_worker", "safeguarding_children", ["CouncilSection.childProtectionPlan"])
	s["CouncilSection.childProtectionPlan"].effect == "allow"
}

test_uncatalogued_field_is_denied if {
	d := by_coordinate("social_worker", "safeguarding_children", ["CouncilSection.secret"])
	d["CouncilSection.secret"].rule == "catalogue.unknown_field"
}

test_allow_from_one_role_beats_mask_from_another if {
	fields := decision.fields with input as object.union(request("keyworker", "early_help", ["BenefitsSection.postcode", "CouncilSection.postcode"]), {"caller": {"roles": ["keyworker", "social_worker"]}})
	d := {x.coordinate: x | some x in fields}
	d["CouncilSection.postcode"].effect == "allow"
	d["BenefitsSection.postcode"].effect == "mask"
}

test_section_entry_needs_an_agreement if {
	d := by_coordinate("benefits_officer", "benefit_assessment", ["Person.council", "Person.reference"])
	d["Person.council"].rule == "grants.no_agreement"
	d["Person.reference"].effect == "allow"
	k := by_coordinate("keyworker", "early_help", ["Person.council"])
	k["Person.council"].effect == "allow"
}

test_role_without_any_agreement_sees_no_person_fields if {
	d := by_coordinate("benefits_officer", "direct_care", ["Person.reference"])
	d["Person.reference"].rule == "grants.no_agreement"
}

test_unknown_purpose_is_denied if {
	d := by_coordinate("social_worker", "curiosity", ["CouncilSection.name"])
	d["CouncilSection.name"].rule == "purposes.unknown"
}

gates(role, purpose, p, extra) := result if {
	persons := decision.persons with input as object.union(object.union(request(role, purpose, []), {"persons": [p]}), extra)
	result := {x.key: x.agencies | some x in persons}
}

test_person_gates_allow_a_related_consenting_person if {
	g := gates("keyworker", "early_help", person("k"), {})
	g.k.council.effect == "allow"
}

test_low_confidence_match_is_gated if {
	g := gates("keyworker", "early_help", object.union(person("k"), {"match_confidence": {"council": 0.5}}), {})
	g.k.council.rule == "identity.threshold"
}

test_unknown_agency_is_gated if {
	g := gates("keyworker", "early_help", object.union(person("k"), {"match_confidence": {"zoo": 1}}), {})
	g.k.zoo.rule == "identity.unknown_agency"
}

test_agency_threshold_overrides_default if {
	g := gates("keyworker", "early_help", object.union(person("k"), {"match_confidence": {"council": 0.95}}), {}) with data.agencies.council.min_confidence as 0.99
	g.k.council.rule == "identity.threshold"
}

test_missing_relationship_is_gated_unless_break_glass if {
	p := object.union(person("k"), {"relationship": false})
	gates("keyworker", "early_help", p, {}).k.council.rule == "relationship.required"
	gates("social_worker", "safeguarding_children", p, {}).k.council.effect == "allow"
}

test_missing_consent_is_gated if {
	p := {"key": "k", "match_confidence": {"council": 1}, "relationship": true}
	gates("keyworker", "early_help", p, {}).k.council.rule == "consent.required"
}

test_refused_consent_for_safeguarding_needs_an_override if {
	p := object.union(person("k"), {"consent": {"safeguarding_children": "refused"}})
	gates("social_worker", "safeguarding_children", p, {}).k.council.rule == "consent.override_required"
	gates("social_worker", "safeguarding_children", p, {"consent_override": {"reason": "s47 enquiry"}}).k.council.effect == "allow"
}

test_obligations if {
	base := request("social_worker", "safeguarding_children", [])
	decision.obligations.audit_level == "standard" with input as base
	o := decision.obligations with input as object.union(base, {"break_glass": {"reason": "child at risk"}})
	o.alert == true
	o.break_glass == "granted"
	r := decision.obligations with input as object.union(request("keyworker", "early_help", []), {"break_glass": {"reason": "x"}})
	r.break_glass == "refused"
	c := decision.obligations with input as object.union(base, {"consent_override": {"reason": "s47"}})
	c.consent_override == true
}

test_revision if {
	decision.revision == "r1" with data.access.revision as "r1"
	decision.revision == "unversioned"
}

test_every_requested_field_gets_a_decision if {
	coordinates := ["Person.council", "Person.reference", "CouncilSection.name", "CouncilSection.nope", "BenefitsSection.sanctions"]
	every role in ["social_worker", "keyworker", "benefits_officer", "gp", "nobody"] {
		every purpose in ["safeguarding_children", "early_help", "benefit_assessment", "direct_care", "x"] {
			count(decision.fields) == count(coordinates) with input as request(role, purpose, coordinates)
		}
	}
}

test_an_accountability_agreement_gives_no_person_fields if {
	d := by_coordinate("data_protection_officer", "audit_review", ["Person.reference"])
	d["Person.reference"].rule == "grants.no_agreement"
}
