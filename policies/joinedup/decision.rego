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
#          "revision"}
#
# "fields" holds what the caller may see of each field whoever the person is;
# "persons" gates each agency's section per person (identity confidence,
# relationship, consent). Deny is the default: a field is allowed or masked
# only when an agreement grants it.
package joinedup.decision

import data.joinedup.break_glass
import data.joinedup.consent
import data.joinedup.grants
import data.joinedup.identity
import data.joinedup.masking
import data.joinedup.purposes
import data.joinedup.relationship

default revision := "unversioned"

revision := data.access.revision

# Arrays, in input order: rego-cpp builds large objects in super-linear time,
# arrays in linear time (see docs/policies.md, "Performance").
fields := [object.union({"coordinate": f.coordinate}, field_decision(f)) | some f in input.fields]

persons := [{"key": p.key, "agencies": agency_gates(p)} | some p in input.persons]

obligations := break_glass.obligations if {
	break_glass.requested
} else := {"audit_level": "high", "alert": false, "review": true, "consent_override": true} if {
	consent.overridden
} else := {"audit_level": "standard", "alert": false, "review": false}

field_decision(f) := denial("purposes.unknown", purposes.unknown_reason) if {
	not purposes.known
} else := person_field(f.coordinate) if {
	object.get(f, "agency", null) == null
} else := section_entry(f.agency) if {
	f.coordinate == concat(".", ["Person", f.agency])
} else := denial("catalogue.unknown_field", sprintf("%s is not in the %s field catalogue, so it is never disclosed", [f.coordinate, f.agency])) if {
	not data.agencies[f.agency].fields[f.coordinate]
} else := granted_field(f.agency, f.coordinate, grants.grant(f.agency, f.coordinate)) if {
	grants.grant(f.agency, f.coordinate)
} else := denial("grants.sensitive", sprintf("%s is sensitive and is shared only when an agreement names it for the purpose '%s'", [f.coordinate, input.purpose])) if {
	grants.withheld_as_sensitive(f.agency, f.coordinate)
} else := denial("grants.none", sprintf("%s is not shared with the caller's role for the purpose '%s'", [f.coordinate, input.purpose]))

# Fields of Person that belong to no agency (reference, matches).
person_field(_) := {"effect": "allow", "rule": "grants.any_agreement"} if {
	grants.any_agreement
} else := denial("grants.no_agreement", sprintf("none of the caller's roles may see data for the purpose '%s'", [input.purpose]))

# Person.<agency>: the agency's section as a whole.
section_entry(agency) := {"effect": "allow", "rule": "grants.agreement"} if {
	grants.has_agreement(agency)
} else := denial("grants.no_agreement", sprintf("no data-sharing agreement with %s covers the caller's role for the purpose '%s'", [agency, input.purpose]))

granted_field(agency, coordinate, grant) := {"effect": "allow", "rule": grant.rule} if {
	grant.effect == "allow"
} else := {"effect": "mask", "mask": masking.mask(agency, coordinate), "rule": "masking.catalogue"} if {
	grant.effect == "mask"
	masking.mask(agency, coordinate)
} else := denial("masking.none", sprintf("%s may only be shown masked, and the catalogue names no mask for it", [coordinate]))

# ("some k, v in" inside a comprehension is misparsed by rego-cpp, so bind by reference.)
agency_gates(person) := {agency: agency_gate(person, agency, confidence) |
	confidence := person.match_confidence[agency]
}

agency_gate(person, agency, confidence) := identity.uncertain_match(agency, confidence) if {
	identity.uncertain_match(agency, confidence)
} else := relationship.no_relationship(person) if {
	relationship.no_relationship(person)
} else := consent.no_consent(person) if {
	consent.no_consent(person)
} else := {"effect": "allow"}

denial(rule, reason) := {"effect": "deny", "rule": rule, "reason": reason}
