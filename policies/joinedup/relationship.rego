# Legitimate relationship: for purposes that require one, the caller's team
# must hold an open case or referral for the person (the gateway looks this up
# and passes it as input.persons[_].relationship). Break-glass waives it.
package joinedup.relationship

import data.joinedup.purposes

default required := false

required := purposes.requirement("relationship") == "required"

# The gate for one person: `related` from the person context, `needed` and
# `waived` from the request (see grants.rego on passing values in).
relationship_gate(related, needed, waived, purpose) := {
	"effect": "deny",
	"rule": "relationship.required",
	"reason": sprintf("the purpose '%s' needs a legitimate relationship: the caller's team holds no open case or referral for this person", [purpose]),
} if {
	needed == true
	not related == true
	not waived == true
} else := {"effect": "allow"}
