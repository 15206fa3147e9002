# Bench-only allow-all: the per-person gates (see decision.rego beside this file).
package joinedup.gates

import data.joinedup.decision

persons := decision.persons

obligations := decision.obligations

revision := decision.revision
