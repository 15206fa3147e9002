# The person-dependent part of the request decision (data.joinedup.decision)
# on its own: the embedded engine evaluates this entrypoint when it already
# holds the field decisions for the same caller, purpose and fields (they never
# depend on input.persons; see decision.rego). It is asked without input.fields,
# which nothing here depends on.
package joinedup.gates

import data.joinedup.decision

persons := decision.persons

obligations := decision.obligations

search := decision.search

revision := decision.revision
