# Identity-match confidence: nothing is disclosed from an agency whose record
# was matched to the person with less confidence than required. The threshold
# is data.access.identity.min_confidence unless the agency sets its own.
# (Functions take the values they compare as arguments: see grants.rego.)
package joinedup.identity

# Per agency, the confidence a match needs (once per request): the agency's
# own min_confidence, else the default.
thresholds := object.union(
	{name: data.access.identity.min_confidence | some name in object.keys(data.agencies)},
	{name: own | some name in object.keys(data.agencies); own := data.agencies[name].min_confidence},
)

# A denial for one agency's section of a person, or undefined when the match is
# good enough. `threshold` is null for an agency the policy has no catalogue for.
uncertain_match(agency, confidence, threshold) := {
	"effect": "deny",
	"rule": "identity.unknown_agency",
	"reason": sprintf("the policy has no field catalogue for the agency '%s'", [agency]),
} if {
	threshold == null
} else := {
	"effect": "deny",
	"rule": "identity.threshold",
	"reason": "the person was not matched in this agency with enough confidence to disclose anything",
} if {
	not sure_enough(confidence, threshold)
}

sure_enough(confidence, threshold) if {
	is_number(confidence)
	confidence >= threshold
}
