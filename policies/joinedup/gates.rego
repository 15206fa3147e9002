# The person-dependent part of the request decision (data.joinedup.decision)
# and the obligations, on their own: the embedded engine evaluates this
# entrypoint for person contexts and requests it has not decided before (see
# decision.rego and gateway/policy/memo.py). It is asked without input.fields,
# which nothing here depends on.
package joinedup.gates

import data.joinedup.decision

persons := decision.persons

obligations := decision.obligations

search := decision.search

revision := decision.revision
