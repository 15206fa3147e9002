# Field-level access decision for one GraphQL request: the entrypoint
# data.joinedup.decision.
#
# Input:  {"caller": {"user", "org", "roles", "team"}, "purpose",
#          "fields": [{"coordinate": "Type.field", "agency"}],
#          "persons": [{"key", "match_confidence": {agency: number},
#                       "relationship": bool, "consent": {purpose: state}}],
#          "break_glass"?: {"reason"}, "consent_override"?: {"reason"}}
# Output: {"fields": [{"coordinate", "effect": "allow"|"mask"|"deny", "mask"?, "reason"?, "rule"}],
#          "persons": [{"key", "agencies": {agency: {"effect", "reason"?, "rule"?}}}],
#          "obligations": {"audit_level", "alert", "review", "break_glass"?},
#          "search": {"min_probability", "likely_at", "max_candidates", "agencies"} or {},
#          "revision"}
#
# "fields" holds what the caller may see of each field whoever the person is.
# "persons" gates each agency's section per person (identity confidence,
# relationship, consent). Deny is the default: a field is allowed or masked
# only when an agreement grants it.
#
# The embedded engine decides and remembers the parts separately
# (gateway/policy/memo.py), so these rules must keep to what the parts may read:
# - a field's entry: input.caller.roles, input.purpose and that field only
#   (not the other fields, the persons, break-glass or a consent override);
# - a person's gate on one agency: the request's roles, purpose, break-glass and
#   consent override, and of the person only the confidence in that agency (and
#   that only through identity.uncertain_match: see confidence.rego), the
#   relationship and the consent for input.purpose (not p.key);
# - obligations: the roles, purpose, break-glass and consent override.
# The label decision (labels.rego) is remembered per record the same way: see there.
# tests/test_policy_memo.py checks which caller claims are read;
# tests/test_policy_differential.py that remembered parts equal whole decisions.
package joinedup.decision

import data.joinedup.break_glass
import data.joinedup.consent
import data.joinedup.grants
import data.joinedup.identity
import data.joinedup.masking
import data.joinedup.purposes
import data.joinedup.relationship
import data.joinedup.search as people_search

default revision := "unversioned"

revision := data.access.revision

# Arrays, in input order: rego-cpp builds large objects in super-linear time,
# arrays in linear time. Each field costs a few key lookups done right here;
# the functions deciding from them are handed only those small values, because
# rego-cpp evaluates a function that refers to data or to other rules many times
# slower (docs/policies.md, "Performance").
fields := [denial_at(f.coordinate, "purposes.unknown", sprintf("purpose '%s' is not a recognised purpose of use", [input.purpose])) |
	some f in input.fields
] if {
	not purposes.known
} else := [object.get(people_search.fields, f.coordinate, field_decision(f, catalogued, per_role, input.purpose, held)) |
	some f in input.fields
	catalogued := [entry | entry := data.agencies[f.agency].fields[f.coordinate]]
	wildcard := grants.type_wildcard(f.coordinate)
	per_role := [[object.get(agreement, f.coordinate, ""), object.get(agreement, wildcard, "")] |
		some agreement in grants.agreements[f.agency]
	]
	held := agreement_held(f.agency, grants.agencies_with_agreement, grants.person_data_agencies_with_agreement)
]

persons := [{"key": p.key, "agencies": agency_gates(p.match_confidence, identity.thresholds, outcome)} |
	some p in input.persons
	outcome := person_outcome(
		relationship.relationship_gate(object.get(p, "relationship", false), relationship.required, break_glass.allowed, input.purpose),
		consent.consent_gate(consent.state(object.get(p, "consent", {}), input.purpose), consent.rule, consent.override_reason_given, break_glass.allowed, input.purpose),
	)
]

# Limits of a demographic search (Query.findPerson); {} when the caller may not search.
search := people_search.limits

obligations := break_glass.obligations if {
	break_glass.requested
} else := {"audit_level": "high", "alert": false, "review": true, "consent_override": true} if {
	consent.overridden
} else := {"audit_level": "standard", "alert": false, "review": false}

# Whether the caller holds an agreement for the purpose with the agency, or, for
# fields of no agency (a person's reference, matches, timeline), with any agency
# that holds people's data (the audit trail's catalogue does not count).
agreement_held(agency, held, held_for_person_data) if {
	agency in held
} else if {
	agency == null
	count(held_for_person_data) > 0
} else := false

field_decision(f, catalogued, per_role, purpose, held) := person_field(f.coordinate, purpose, held) if {
	object.get(f, "agency", null) == null
} else := section_entry(f.coordinate, f.agency, purpose, held) if {
	f.coordinate == concat(".", ["Person", f.agency])
} else := denial_at(f.coordinate, "catalogue.unknown_field", sprintf("%s is not in the %s field catalogue, so it is never disclosed", [f.coordinate, f.agency])) if {
	count(catalogued) == 0
} else := granted_field(f.coordinate, catalogued[0], grant) if {
	grant := grants.grant(catalogued[0], per_role)
} else := denial_at(f.coordinate, "grants.sensitive", sprintf("%s is sensitive and is shared only when an agreement names it for the purpose '%s'", [f.coordinate, purpose])) if {
	grants.withheld_as_sensitive(catalogued[0], per_role)
} else := denial_at(f.coordinate, "grants.none", sprintf("%s is not shared with the caller's role for the purpose '%s'", [f.coordinate, purpose]))

# Fields of Person that belong to no agency (reference, matches).
person_field(coordinate, purpose, held) := {"coordinate": coordinate, "effect": "allow", "rule": "grants.any_agreement"} if {
	held == true
} else := denial_at(coordinate, "grants.no_agreement", sprintf("none of the caller's roles may see data for the purpose '%s'", [purpose]))

# Person.<agency>: the agency's section as a whole.
section_entry(coordinate, agency, purpose, held) := {"coordinate": coordinate, "effect": "allow", "rule": "grants.agreement"} if {
	held == true
} else := denial_at(coordinate, "grants.no_agreement", sprintf("no data-sharing agreement with %s covers the caller's role for the purpose '%s'", [agency, purpose]))

granted_field(coordinate, entry, grant) := {"coordinate": coordinate, "effect": "allow", "rule": grant.rule} if {
	grant.effect == "allow"
} else := {"coordinate": coordinate, "effect": "mask", "mask": mask, "rule": "masking.catalogue"} if {
	mask := masking.mask(entry, data.access.masks)
} else := denial_at(coordinate, "masking.none", sprintf("%s may only be shown masked, and the catalogue names no mask for it", [coordinate]))

# Relationship and consent gate the whole person; identity confidence each agency.
person_outcome(by_relationship, by_consent) := by_relationship if {
	by_relationship.effect == "deny"
} else := by_consent

# `threshold` is null for an agency the policy does not know.
# (Everything is bound in the body: rego-cpp drops the entries of a comprehension
# whose head uses a function argument the body does not mention.)
agency_gates(confidences, thresholds, outcome) := {agency: gate |
	confidence := confidences[agency]
	threshold := object.get(thresholds, agency, null)
	gate := agency_gate(agency, confidence, threshold, outcome)
}

agency_gate(agency, confidence, threshold, outcome) := identity.uncertain_match(agency, confidence, threshold) if {
	identity.uncertain_match(agency, confidence, threshold)
} else := outcome

denial_at(coordinate, rule, reason) := {"coordinate": coordinate, "effect": "deny", "rule": rule, "reason": reason}
