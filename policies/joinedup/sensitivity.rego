# Record sensitivity labels (the rules behind the entrypoint data.joinedup.labels).
#
# Labels override roles. A "record" label withholds the labelled record unless
# one of the caller's roles may see it for the purpose (data.access.labels
# [label].visible_to). A "person" label (a refuge address) withholds, for that
# person, every field of the category it protects in every agency's section, so
# another agency's copy of the address cannot give it away. Unknown labels deny.
# Break-glass does not lift labels.
package joinedup.sensitivity

records := [object.union({"id": r.id}, record_decision(r)) | some r in input.records]

persons[person] := {coordinate: protected_reason(category) |
	some [p, label] in hidden_person_labels
	p == person
	category := data.access.labels[label].withholds
	some coordinate in category_coordinates[category]
} if {
	some [person, _] in hidden_person_labels
}

record_decision(r) := {
	"effect": "deny",
	"rule": "labels.unknown",
	"reason": "this record carries a sensitivity label the policy does not know, so it is withheld",
} if {
	some label in r.labels
	not data.access.labels[label]
} else := {
	"effect": "deny",
	"rule": "labels.record",
	"reason": sprintf("this record is labelled '%s', which the caller's role may not see for the purpose '%s'", [hidden[0], input.purpose]),
} if {
	hidden := [label |
		some label in r.labels
		data.access.labels[label].scope == "record"
		not visible(label)
	]
	count(hidden) > 0
} else := {"effect": "allow"}

hidden_person_labels contains [r.person, label] if {
	some r in input.records
	some label in r.labels
	data.access.labels[label].scope == "person"
	not visible(label)
}

visible(label) if {
	some role in input.caller.roles
	input.purpose in data.access.labels[label].visible_to[role]
}

# Every catalogued coordinate of each category a person label protects, across agencies.
category_coordinates[category] := {coordinate |
	some agency in data.agencies
	spec := agency.fields[coordinate]
	category in object.get(spec, "categories", [])
} if {
	some label in data.access.labels
	category := label.withholds
}

protected_reason(category) := sprintf("withheld: a sensitivity label protects this person's %s", [category])
