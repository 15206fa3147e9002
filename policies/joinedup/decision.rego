# Field-level access decision for one GraphQL request.
#
# Input:  {"caller": {"user", "org", "roles", "team"}, "purpose",
#          "fields": [{"coordinate": "Type.field", "agency"}]}
# Output: {"fields": {coordinate: {"effect": "allow"|"mask"|"deny", "mask"?, "reason"?}},
#          "obligations": {...}, "revision": ...}
#
# Deny is the default: a coordinate is allowed or masked only when a grant for
# one of the caller's roles and the declared purpose names it.
package joinedup.decision

default revision := "unversioned"

revision := data.access.revision

obligations := {"audit_level": "standard"}

fields[f.coordinate] := field_decision(f.coordinate) if some f in input.fields

field_decision(coordinate) := {"effect": "mask", "mask": data.access.masks[coordinate]} if {
	not granted(coordinate, "allow")
	granted(coordinate, "mask")
} else := {"effect": "allow"} if {
	granted(coordinate, "allow")
} else := {"effect": "deny", "reason": denial_reason(coordinate)}

granted(coordinate, effect) if {
	some role in input.caller.roles
	some pattern in data.access.grants[role][input.purpose][effect]
	covers(pattern, coordinate)
}

covers(pattern, coordinate) if pattern == coordinate

covers(pattern, coordinate) if {
	endswith(pattern, ".*")
	startswith(coordinate, trim_suffix(pattern, "*"))
}

denial_reason(coordinate) := sprintf("purpose '%s' is not a recognised purpose of use", [input.purpose]) if {
	not data.access.purposes[input.purpose]
} else := sprintf("none of the caller's roles may see data for the purpose '%s'", [input.purpose]) if {
	not any_grant_for_purpose
} else := sprintf("%s is not shared with the caller's role for the purpose '%s'", [
	coordinate,
	input.purpose,
])

any_grant_for_purpose if {
	some role in input.caller.roles
	data.access.grants[role][input.purpose]
}
