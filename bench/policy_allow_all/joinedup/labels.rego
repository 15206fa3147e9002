# Bench-only allow-all: every labelled record may be seen (see decision.rego beside this file).
package joinedup.labels

revision := "bench-allow-all"

records := [{"id": r.id, "effect": "allow"} | some r in input.records]

persons := {}
