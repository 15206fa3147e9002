# Data-sharing agreements: what each role may see from each agency for each purpose.
#
# data.agencies[agency].agreements[role][purpose] maps a coordinate ("Type.field")
# or a whole type ("Type.*") to "allow" or "mask". A grant by name overrides a
# grant of the whole type; among several roles the strongest grant (allow over
# mask) wins. A type grant never covers a field the catalogue marks sensitive:
# such fields must be granted by name.
package joinedup.grants

# Per agency, the agreements the caller's roles hold for the purpose (once per request).
agreements[name] := [agreement |
	some role in input.caller.roles
	agreement := data.agencies[name].agreements[role][input.purpose]
] if {
	some name in object.keys(data.agencies)
}

# Agencies with which one of the caller's roles holds an agreement for the purpose.
agencies_with_agreement contains name if {
	some name, role_agreements in agreements
	some agreement in role_agreements
	count(agreement) > 0
}

# Of those, the agencies that hold people's data: a catalogue marked
# "accountability" (the audit trail) gives no access to any person.
person_data_agencies_with_agreement contains name if {
	some name in agencies_with_agreement
	not data.agencies[name].accountability
}

type_wildcard(coordinate) := concat(".", [split(coordinate, ".")[0], "*"])

# The grant for one catalogued field: `per_role` holds, for each of the caller's
# roles, the effect its agreement names the field with and the effect it gives
# the field's whole type ("" for none). Within a role a grant by name overrides
# the type's; across roles the strongest (allow over mask) wins. Undefined when
# no role grants the field.
grant(entry, per_role) := allowing[0] if {
	grants := [g | some pair in per_role; g := role_grant(entry, pair)]
	allowing := [g | some g in grants; g.effect == "allow"]
	count(allowing) > 0
} else := masking[0] if {
	masking := [g | some pair in per_role; g := role_grant(entry, pair); g.effect == "mask"]
	count(masking) > 0
}

role_grant(entry, pair) := {"effect": pair[0], "rule": "grants.by_name"} if {
	pair[0] != ""
} else := {"effect": pair[1], "rule": "grants.by_type"} if {
	pair[1] != ""
	not entry.sensitive == true
}

# Whether a type grant would have covered this field had it not been sensitive.
withheld_as_sensitive(entry, per_role) if {
	entry.sensitive == true
	some pair in per_role
	pair[1] != ""
}
