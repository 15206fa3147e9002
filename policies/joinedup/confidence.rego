# What a match confidence means to an agency's gate: "sufficient", or the rule of
# the identity denial it meets. The embedded engine remembers person gates per
# class rather than per confidence (gateway/policy/memo.py), so the gates in
# decision.rego must depend on a confidence only through identity.uncertain_match.
#
# Input:  {"matches": [{"agency", "confidence"}]}
# Output: {"classes": [class, ...]} in input order.
package joinedup.confidence

import data.joinedup.identity

classes := [class |
	some m in input.matches
	threshold := object.get(identity.thresholds, m.agency, null)
	class := confidence_class(m.agency, m.confidence, threshold)
]

confidence_class(agency, confidence, threshold) := gate.rule if {
	gate := identity.uncertain_match(agency, confidence, threshold)
} else := "sufficient"
