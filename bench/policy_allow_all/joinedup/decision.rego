# Bench-only baseline policy: allow every requested field, no masks, no reasons.
#
# The benchmark runs the gateway with this folder (plus the real policies/data.json,
# copied beside it at run time for the purpose catalogue) to measure what the
# real policy costs. It is never used outside bench/.
package joinedup.decision

revision := "bench-allow-all"

obligations := {"audit_level": "standard"}

fields[f.coordinate] := {"effect": "allow"} if some f in input.fields
