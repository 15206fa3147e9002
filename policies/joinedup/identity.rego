# Identity-match confidence: nothing is disclosed from an agency whose record
# was matched to the person with less confidence than required. The threshold
# is data.access.identity.min_confidence unless the agency sets its own.
package joinedup.identity

threshold(agency) := data.agencies[agency].min_confidence if {
	is_number(data.agencies[agency].min_confidence)
} else := data.access.identity.min_confidence

catalogued(agency) if is_object(data.agencies[agency].fields)

# A denial for the agency's section of this person, or undefined when the match is good enough.
uncertain_match(agency, confidence) := {
	"effect": "deny",
	"rule": "identity.unknown_agency",
	"reason": sprintf("the policy has no field catalogue for the agency '%s'", [agency]),
} if {
	not catalogued(agency)
} else := {
	"effect": "deny",
	"rule": "identity.threshold",
	"reason": "the person was not matched in this agency with enough confidence to disclose anything",
} if {
	not sure_enough(agency, confidence)
}

sure_enough(agency, confidence) if {
	is_number(confidence)
	confidence >= threshold(agency)
}
