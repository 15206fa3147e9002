# Bench-only baseline policy: allow every requested field, every matched agency and
# every labelled record; no masks, no reasons.
#
# The benchmark runs the gateway with this folder (plus the real policies/data.json,
# copied beside it at run time for the purpose catalogue) to measure what the real
# policy costs. It answers the same entrypoints, in the same shapes, as
# policies/joinedup (decision, gates, labels, confidence). It is never used outside bench/.
package joinedup.decision

revision := "bench-allow-all"

obligations := {"audit_level": "standard", "alert": false, "review": false}

fields := [{"coordinate": f.coordinate, "effect": "allow"} | some f in input.fields]

persons := [{"key": p.key, "agencies": {agency: {"effect": "allow"} | some agency, _ in p.match_confidence}} |
	some p in input.persons
]
