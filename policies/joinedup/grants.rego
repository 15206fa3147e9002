# Data-sharing agreements: what each role may see from each agency for each purpose.
#
# data.agencies[agency].agreements[role][purpose] maps a coordinate ("Type.field")
# or a whole type ("Type.*") to "allow" or "mask". Every lookup is by key, so
# the cost of a decision grows linearly with the number of requested fields.
# A wildcard never covers a field the catalogue marks sensitive: such fields
# must be granted by name.
package joinedup.grants

# Per agency, the agreements the caller's roles hold for the purpose: looked
# up once per request, then each field costs a few key lookups.
agreements := {agency: [agreement |
	some role in input.caller.roles
	agreement := data.agencies[agency].agreements[role][input.purpose]
] |
	some agency in requested_agencies
}

requested_agencies contains f.agency if {
	some f in input.fields
	is_string(f.agency)
}

# The strongest grant (allow over mask) any of the caller's roles holds for a
# catalogued field, with the rule that granted it; undefined when none does.
# Within one role a grant by name overrides a grant of the field's whole type.
grant(agency, coordinate) := allowing[0] if {
	grants := [g | some agreement in agreements[agency]; g := role_grant(agreement, agency, coordinate)]
	allowing := [g | some g in grants; g.effect == "allow"]
	count(allowing) > 0
} else := masking[0] if {
	masking := [g |
		some agreement in agreements[agency]
		g := role_grant(agreement, agency, coordinate)
		g.effect == "mask"
	]
	count(masking) > 0
}

role_grant(agreement, agency, coordinate) := {"effect": agreement[coordinate], "rule": "grants.by_name"} if {
	is_string(agreement[coordinate])
} else := {"effect": agreement[type_wildcard(coordinate)], "rule": "grants.by_type"} if {
	not sensitive(agency, coordinate)
	is_string(agreement[type_wildcard(coordinate)])
}

sensitive(agency, coordinate) if data.agencies[agency].fields[coordinate].sensitive == true

type_wildcard(coordinate) := concat(".", [split(coordinate, ".")[0], "*"])

# Whether a type grant would have covered this field had it not been sensitive.
withheld_as_sensitive(agency, coordinate) if {
	sensitive(agency, coordinate)
	some agreement in agreements[agency]
	is_string(agreement[type_wildcard(coordinate)])
}

# One of the caller's roles holds an agreement with the agency for the purpose.
has_agreement(agency) if {
	some agreement in agreements[agency]
	count(agreement) > 0
}

# The caller holds an agreement with some agency for the purpose.
any_agreement if {
	some role in input.caller.roles
	some agency in data.agencies
	count(agency.agreements[role][input.purpose]) > 0
}
