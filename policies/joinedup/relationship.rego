# Legitimate relationship: for purposes that require one, the caller's team
# must hold an open case or referral for the person (the gateway looks this up
# and passes it as input.persons[_].relationship). Break-glass waives it.
package joinedup.relationship

import data.joinedup.break_glass
import data.joinedup.purposes

no_relationship(person) := {
	"effect": "deny",
	"rule": "relationship.required",
	"reason": sprintf("the purpose '%s' needs a legitimate relationship: the caller's team holds no open case or referral for this person", [input.purpose]),
} if {
	purposes.requirement("relationship") == "required"
	not person.relationship == true
	not break_glass.allowed
}
