# Consent per purpose (input.persons[_].consent[purpose]: "given", "refused",
# "withdrawn"; absent means not recorded).
#
# A purpose's consent rule is one of
#   "required":     consent must have been given (break-glass waives it);
#   "overridable":  refused or withdrawn consent blocks disclosure unless the
#                   request records an override reason (safeguarding);
#   "not_required": the lawful basis does not rest on consent.
package joinedup.consent

import data.joinedup.purposes

default rule := "not_required"

rule := purposes.requirement("consent")

default override_reason_given := false

override_reason_given if {
	is_string(input.consent_override.reason)
	trim_space(input.consent_override.reason) != ""
}

# An override was asked for a purpose that allows one: it is reviewed afterwards.
overridden if {
	rule == "overridable"
	override_reason_given
}

state(consents, purpose) := consents[purpose] if {
	is_string(consents[purpose])
} else := "not_recorded"

# The gate for one person with consent `state` (values passed in: see grants.rego).
consent_gate(state, consent_rule, override_given, waived, purpose) := {
	"effect": "deny",
	"rule": "consent.required",
	"reason": sprintf("the purpose '%s' needs the person's consent, which is %s", [purpose, state]),
} if {
	consent_rule == "required"
	state != "given"
	not waived == true
} else := {
	"effect": "deny",
	"rule": "consent.override_required",
	"reason": sprintf("the person's consent is %s; for '%s' it may be overridden only with a recorded reason (X-Consent-Override-Reason)", [state, purpose]),
} if {
	consent_rule == "overridable"
	state in {"refused", "withdrawn"}
	not override_given == true
	not waived == true
} else := {"effect": "allow"}
