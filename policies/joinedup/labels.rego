# Record sensitivity labels: the second, batched decision of a request, the
# entrypoint data.joinedup.labels, asked once for every labelled record read
# (never once per record). The rules are in joinedup.sensitivity.
#
# Input:  {"caller", "purpose", "records": [{"id", "person", "agency", "labels": [label]}]}
# Output: {"records": [{"id", "effect": "allow"|"deny", "reason"?, "rule"?}],
#          "persons": {person: {coordinate: reason}}, "revision"}
package joinedup.labels

import data.joinedup.sensitivity

default revision := "unversioned"

revision := data.access.revision

records := sensitivity.records

persons := sensitivity.persons
