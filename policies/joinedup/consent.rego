# Consent per purpose (input.persons[_].consent[purpose]: "given", "refused",
# "withdrawn"; absent means not recorded).
#
# A purpose's consent rule is one of
#   "required":     consent must have been given (break-glass waives it);
#   "overridable":  refused or withdrawn consent blocks disclosure unless the
#                   request records an override reason (safeguarding);
#   "not_required": the lawful basis does not rest on consent.
package joinedup.consent

import data.joinedup.break_glass
import data.joinedup.purposes

state(person) := person.consent[input.purpose] if {
	is_string(person.consent[input.purpose])
} else := "not_recorded"

override_reason_given if {
	is_string(input.consent_override.reason)
	trim_space(input.consent_override.reason) != ""
}

# An override was asked for a purpose that allows one: it is reviewed afterwards.
overridden if {
	purposes.requirement("consent") == "overridable"
	override_reason_given
}

no_consent(person) := {
	"effect": "deny",
	"rule": "consent.required",
	"reason": sprintf("the purpose '%s' needs the person's consent, which is %s", [input.purpose, state(person)]),
} if {
	purposes.requirement("consent") == "required"
	state(person) != "given"
	not break_glass.allowed
} else := {
	"effect": "deny",
	"rule": "consent.override_required",
	"reason": sprintf("the person's consent is %s; for '%s' it may be overridden only with a recorded reason (X-Consent-Override-Reason)", [state(person), input.purpose]),
} if {
	purposes.requirement("consent") == "overridable"
	state(person) in {"refused", "withdrawn"}
	not override_reason_given
	not break_glass.allowed
}
