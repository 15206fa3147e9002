# Demographic search (Query.findPerson): who may look a person up by name and
# date of birth, for which purposes, how probable a candidate must be to be
# listed at all, and which disambiguating details each role sees.
#
# The settings are data.access.search: per role the purposes it may search
# for, optionally its own min_probability, and per detail coordinate
# ("PersonCandidate.name", ...) "allow" or "mask" (anything else: withheld).
# Among several roles the most permissive wins (allow over mask, the lowest
# minimum probability). A role that is not named may not search: fail closed.
package joinedup.search

import data.joinedup.grants

settings := data.access.search

details := ["PersonCandidate.name", "PersonCandidate.yearOfBirth", "PersonCandidate.postcodeDistrict"]

# The caller's roles that may search for the declared purpose.
searching_roles contains role if {
	some role in input.caller.roles
	input.purpose in object.get(object.get(settings.roles, role, {}), "purposes", [])
}

permitted if count(searching_roles) > 0

governs(coordinate) if coordinate == "Query.findPerson"

governs(coordinate) if startswith(coordinate, "PersonSearch.")

governs(coordinate) if startswith(coordinate, "PersonCandidate.")

# Per detail coordinate, the strongest effect any searching role has for it.
detail_effect[coordinate] := effect if {
	some coordinate in details
	effects := {effect |
		some role in searching_roles
		effect := object.get(object.get(settings.roles[role], "details", {}), coordinate, "deny")
	}
	effect := strongest(effects)
}

strongest(effects) := "allow" if {
	"allow" in effects
} else := "mask" if {
	"mask" in effects
} else := "deny"

# Decisions for the search coordinates the request names (once per request).
fields[f.coordinate] := field(f.coordinate) if {
	some f in input.fields
	governs(f.coordinate)
}

field(coordinate) := denial(coordinate, "search.not_permitted", sprintf("none of the caller's roles may search for people by demographics for the purpose '%s'", [input.purpose])) if {
	not permitted
} else := detail(coordinate, detail_effect[coordinate]) if {
	coordinate in details
} else := {"coordinate": coordinate, "effect": "allow", "rule": "search.permitted"}

detail(coordinate, "allow") := {"coordinate": coordinate, "effect": "allow", "rule": "search.detail"}

detail(coordinate, "mask") := {"coordinate": coordinate, "effect": "mask", "mask": settings.masks[coordinate], "rule": "search.detail_masked"} if {
	settings.masks[coordinate]
} else := denial(coordinate, "masking.none", sprintf("%s may only be shown masked, and the search settings name no mask for it", [coordinate]))

detail(coordinate, "deny") := denial(coordinate, "search.detail_withheld", sprintf("%s is not shown to the caller's role when searching for the purpose '%s'", [coordinate, input.purpose]))

# What the gateway needs to run a permitted search: the least probability a
# candidate needs to be listed, the probability from which it is LIKELY (the
# identity threshold), how many to list, and the agencies whose records may be
# searched and named (those the caller holds an agreement with for the purpose).
limits := {
	"min_probability": min({object.get(settings.roles[role], "min_probability", settings.min_probability) | some role in searching_roles}),
	"likely_at": data.access.identity.min_confidence,
	"max_candidates": settings.max_candidates,
	"agencies": sort([name | some name in grants.person_data_agencies_with_agreement]),
} if {
	permitted
} else := {}

denial(coordinate, rule, reason) := {"coordinate": coordinate, "effect": "deny", "rule": rule, "reason": reason}
