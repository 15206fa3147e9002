package joinedup.labels_test

import data.joinedup.labels

request(role, purpose, records) := {
	"caller": {"roles": [role]},
	"purpose": purpose,
	"records": records,
}

record(id, label) := {"id": id, "person": "NI:1", "agency": "council", "labels": [label]}

decided(role, purpose, records) := result if {
	decided_records := labels.records with input as request(role, purpose, records)
	result := {r.id: r | some r in decided_records}
}

test_record_label_withholds_unless_visible if {
	decided("keyworker", "early_help", [record("a", "mappa_level_1")]).a.rule == "labels.record"
	decided("social_worker", "safeguarding_children", [record("a", "mappa_level_1")]).a.effect == "allow"
}

test_unknown_label_withholds if {
	decided("social_worker", "safeguarding_children", [record("a", "alien")]).a.rule == "labels.unknown"
}

test_refuge_label_withholds_location_across_agencies if {
	p := labels.persons with input as request("social_worker", "early_help", [record("a", "refuge_address")])
	p["NI:1"]["CouncilSection.address"]
	p["NI:1"]["BenefitsSection.postcode"]
	not p["NI:1"]["CouncilSection.name"]
}

test_refuge_label_visible_for_safeguarding_social_worker if {
	p := labels.persons with input as request("social_worker", "safeguarding_children", [record("a", "refuge_address")])
	count(p) == 0
}

test_revision if {
	labels.revision == "r2" with data.access.revision as "r2"
	labels.revision == "unversioned"
}

test_break_glass_does_not_lift_labels if {
	d := labels.records with input as object.union(request("social_worker", "safeguarding_children", [record("a", "mappa_level_3")]), {"break_glass": {"reason": "emergency"}})
	d[0].rule == "labels.record"
}
