# Record sensitivity labels: the second, batched decision of a request, the
# entrypoint data.joinedup.labels, asked once for every labelled record read
# (never once per record). The rules are in joinedup.sensitivity.
#
# Input:  {"caller", "purpose", "records": [{"id", "person", "agency", "labels": [label]}]}
# Output: {"records": [{"id", "effect": "allow"|"deny", "reason"?, "rule"?}],
#          "persons": {person: {coordinate: reason}}, "revision"}
#
# The embedded engine decides and remembers each record's part separately
# (gateway/policy/memo.py), so the rules (joinedup.sensitivity) must keep to
# what a part may read: input.caller.roles, input.purpose and the record's
# agency and labels (their order too); the record's id is only echoed and its
# person only groups what the person's records protect (the union of what each
# protects); nothing of the other records. tests/test_policy_memo.py checks
# what is read of input.records; tests/test_policy_differential.py that the
# parts put together equal whole decisions.
package joinedup.labels

import data.joinedup.sensitivity

default revision := "unversioned"

revision := data.access.revision

records := sensitivity.records

persons := sensitivity.persons
